using Strata.Layers;
using Strata.Models;

namespace Strata.Tests.Layers;

public sealed class OneHotColumnsTests
{
    // A table of a number, a text column of three values and another number.
    private static OneHotColumns Table() => new([new("x"), new("colour", ["blue", "green", "red"]), new("y")], "table");

    [Fact]
    public void Text_columns_become_one_hot_blocks_in_place_and_minus_one_is_none()
    {
        var layer = Table();
        Assert.Equal(5, layer.OutputWidth);
        // Row 0: x 2.5, red (index 2), y −1. Row 1: x 0, a value outside the vocabulary (−1), y 7.
        var y = layer.Forward(Tensor.FromArray([2.5f, 2, -1, 0, -1, 7], 2, 3));
        Assert.Equal([2, 5], y.Shape.ToArray());
        Assert.Equal([2.5f, 0, 0, 1, -1, 0, 0, 0, 0, 7], y.ToArray());
        var e = Assert.Throws<ArgumentException>(() => Table().Forward(Tensor.FromArray([1, 3, 0], 1, 3)));
        Assert.Contains("text column 'colour' takes an index 0..2", e.Message);
        Assert.Contains("got 3", e.Message);
        Assert.Contains("got 0.5", Assert.Throws<ArgumentException>(() => Table().Forward(Tensor.FromArray([1, 0.5f, 0], 1, 3))).Message);
        Assert.Contains("expected input [batch, 3]", Assert.Throws<ArgumentException>(() => Table().Forward(Tensor.Zeros(1, 4))).Message);
    }

    [Fact]
    public void Encode_reads_numbers_and_looks_up_text_naming_the_column_and_value_it_cannot_take()
    {
        var layer = Table();
        var values = new float[3];
        Assert.Equal(0, layer.Encode(["2.5", " green ", "-1e1"], values));
        Assert.Equal([2.5f, 1, -10], values);

        var unknown = Assert.Throws<InvalidDataException>(() => layer.Encode(["1", "mauve", "2"], values, where: "rows.csv line 3"));
        Assert.Equal("OneHotColumns 'table': rows.csv line 3: text column 'colour' got 'mauve', a value the model was not trained on (expected one of 'blue', 'green', 'red')", unknown.Message);
        Assert.Equal(1, layer.Encode(["1", "mauve", "2"], values, unknownAsNone: true));
        Assert.Equal([1f, -1, 2], values);

        Assert.Contains("number column 'y' got 'tall', which is not a number", Assert.Throws<InvalidDataException>(() => layer.Encode(["1", "red", "tall"], values)).Message);
        Assert.Contains("expected 3 fields (x, colour, y), got 2", Assert.Throws<InvalidDataException>(() => layer.Encode(["1", "red"], values)).Message);
        Assert.Contains("lists the value 'a' twice", Assert.Throws<ArgumentException>(() => new OneHotColumns([new("c", ["a", "b", "a"])])).Message);
        Assert.Contains("empty vocabulary", Assert.Throws<ArgumentException>(() => new OneHotColumns([new("c", [])])).Message);
    }

    [Fact]
    public void The_gradient_reaches_the_number_columns_and_not_the_indices()
    {
        var x = Tensor.FromArray([2.5f, 2, -1, 0, 0, 7], 2, 3);
        x.RequiresGrad = true;
        var y = Table().Forward(x);
        // L = Σ y · w: dL/dx for a number column is the w of its output slot; an index column gets 0.
        var w = Tensor.FromArray([1f, 2, 3, 4, 5, 6, 7, 8, 9, 10], 2, 5);
        (y * w).Sum().Backward();
        Assert.Equal([1f, 0, 5, 6, 0, 10], x.Grad!.ToArray());
    }

    [Fact]
    public void A_model_with_the_layer_saves_and_loads_its_vocabularies_with_identical_outputs()
    {
        var model = new Sequential([new Input([3]), Table(), new Dense(2, "relu")], seed: 4);
        var x = Tensor.FromArray([2.5f, 2, -1, 0, -1, 7, 1, 0, 1], 3, 3);
        var before = model.Predict(x).ToArray();
        var dir = Directory.CreateTempSubdirectory("strata-onehot-");
        try
        {
            string path = Path.Combine(dir.FullName, "m.strata");
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(before, loaded.Predict(x).ToArray());
            var table = Assert.IsType<OneHotColumns>(loaded.Layers[1]);
            Assert.Equal(["x", "colour", "y"], table.Columns.Select(c => c.Name));
            Assert.Equal(["blue", "green", "red"], table.Columns[1].Vocabulary!);
            Assert.Null(table.Columns[0].Vocabulary);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
