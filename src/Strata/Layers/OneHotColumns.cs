using System.Globalization;

namespace Strata.Layers;

/// <summary>One column of a <see cref="OneHotColumns"/> table: its name, and for a text column the values it one-hot encodes.</summary>
/// <param name="Name">The column's name (a CSV header's).</param>
/// <param name="Vocabulary">A text column's values, in the order of their one-hot slots; null for a number column.</param>
public sealed record OneHotColumn(string Name, string[]? Vocabulary = null);

/// <summary>Config of <see cref="OneHotColumns"/>: the table's columns, in input order, with the text columns' vocabularies.</summary>
public sealed record OneHotColumnsConfig(string Name, OneHotColumn[] Columns) : LayerConfig(Name);

/// <summary>
/// One-hot encodes the text columns of a table and passes its number columns through, so that a model
/// can take a table's rows as they are (Keras does this with a StringLookup and a CategoryEncoding per
/// column). The model's input holds one value per column: a number column's number, a text column's
/// index into its <see cref="OneHotColumn.Vocabulary"/> (−1: a value outside it). <see cref="Encode"/>
/// turns a row of text fields into those values. Each column's output keeps its place: a number column
/// gives 1 value, a text column of k values gives k (one 1 at the value's index, all 0 for −1).
/// Input [batch, columns] → output [batch, number columns + Σ k]. The gradient passes to the number
/// columns; an index has none.
/// </summary>
public sealed class OneHotColumns : Layer
{
    private readonly OneHotColumn[] _columns;
    private readonly Dictionary<string, int>?[] _lookup;
    private readonly int[] _offsets;
    private readonly int _width;

    /// <param name="columns">The table's columns in input order (at least one).</param>
    /// <param name="name">The layer's name.</param>
    /// <exception cref="ArgumentException">No columns, a column without a name, or a vocabulary that is empty or repeats a value.</exception>
    public OneHotColumns(IEnumerable<OneHotColumn> columns, string? name = null) : base(name)
    {
        _columns = [.. columns ?? throw new ArgumentNullException(nameof(columns))];
        if (_columns.Length == 0)
            throw new ArgumentException($"OneHotColumns '{Name}': expected at least one column, got none");
        _lookup = new Dictionary<string, int>?[_columns.Length];
        _offsets = new int[_columns.Length];
        for (int c = 0; c < _columns.Length; c++)
        {
            var col = _columns[c] ?? throw new ArgumentException($"OneHotColumns '{Name}': column {c} is null");
            if (string.IsNullOrEmpty(col.Name))
                throw new ArgumentException($"OneHotColumns '{Name}': column {c} has no name");
            _offsets[c] = _width;
            if (col.Vocabulary is not { } vocabulary)
            {
                _width++;
                continue;
            }
            if (vocabulary.Length == 0)
                throw new ArgumentException($"OneHotColumns '{Name}': text column '{col.Name}' has an empty vocabulary");
            var lookup = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < vocabulary.Length; i++)
            {
                if (vocabulary[i] is null || !lookup.TryAdd(vocabulary[i], i))
                    throw new ArgumentException($"OneHotColumns '{Name}': text column '{col.Name}' lists the value '{vocabulary[i]}' twice (or a null value)");
            }
            _lookup[c] = lookup;
            _width += vocabulary.Length;
        }
    }

    /// <summary>The columns, in input order.</summary>
    public IReadOnlyList<OneHotColumn> Columns => _columns;

    /// <summary>Values per encoded row (the output's last axis).</summary>
    public int OutputWidth => _width;

    /// <summary>Whether the table has a text column (else the layer passes its input through).</summary>
    public bool HasTextColumns => _lookup.Any(l => l is not null);

    /// <summary>
    /// Writes the input values of one row of text fields (one per column, in column order) into
    /// <paramref name="values"/>: a number column's number, a text column's vocabulary index.
    /// </summary>
    /// <param name="fields">The row's fields (trimmed here).</param>
    /// <param name="values">At least <see cref="Columns"/>.Count floats.</param>
    /// <param name="unknownAsNone">A text value outside its column's vocabulary becomes −1 (all zeros) instead of an error.</param>
    /// <param name="where">Where the row comes from, for messages ("rows.csv line 3").</param>
    /// <returns>The number of text values outside their vocabulary (only with <paramref name="unknownAsNone"/>).</returns>
    /// <exception cref="InvalidDataException">A field count that differs from the columns', a number column's field that is no number, or an unknown text value.</exception>
    public int Encode(IReadOnlyList<string> fields, Span<float> values, bool unknownAsNone = false, string? where = null)
    {
        string at = where is null ? "" : where + ": ";
        if (fields.Count != _columns.Length)
            throw new InvalidDataException($"OneHotColumns '{Name}': {at}expected {_columns.Length} fields ({string.Join(", ", _columns.Select(c => c.Name))}), got {fields.Count}");
        int unknown = 0;
        for (int c = 0; c < _columns.Length; c++)
        {
            string v = fields[c].Trim();
            if (_lookup[c] is not { } lookup)
            {
                if (!float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out values[c]))
                    throw new InvalidDataException($"OneHotColumns '{Name}': {at}number column '{_columns[c].Name}' got '{v}', which is not a number");
                if (!float.IsFinite(values[c]))
                    throw new InvalidDataException($"OneHotColumns '{Name}': {at}number column '{_columns[c].Name}' got '{v}', outside float32's range (±{float.MaxValue:G9}) or infinite");
                continue;
            }
            if (lookup.TryGetValue(v, out int index))
            {
                values[c] = index;
                continue;
            }
            if (!unknownAsNone)
            {
                var vocabulary = _columns[c].Vocabulary!;
                throw new InvalidDataException($"OneHotColumns '{Name}': {at}text column '{_columns[c].Name}' got '{v}', a value the model was not trained on " +
                    $"(expected one of {string.Join(", ", vocabulary.Take(20).Select(s => $"'{s}'"))}{(vocabulary.Length > 20 ? $", ... ({vocabulary.Length} values)" : "")})");
            }
            values[c] = -1;
            unknown++;
        }
        return unknown;
    }

    /// <inheritdoc/>
    public override Shape ComputeOutputShape(Shape inputShape) => new(_width);

    /// <inheritdoc/>
    protected override void ValidateInputShape(Shape inputShape)
    {
        if (inputShape.Rank != 1 || inputShape[0] != _columns.Length)
            throw new ArgumentException($"OneHotColumns '{Name}': expected input [batch, {_columns.Length}] (one value per column), got [batch, {string.Join(", ", inputShape.ToArray())}]");
    }

    /// <inheritdoc/>
    protected override Tensor Call(Tensor x, bool training) => Tensor.Run(new OneHotNode(this, x));

    /// <inheritdoc/>
    public override LayerConfig GetConfig() =>
        new OneHotColumnsConfig(Name, [.. _columns.Select(c => c with { Vocabulary = (string[]?)c.Vocabulary?.Clone() })]);

    private void ForwardRows(ReadOnlySpan<float> x, Span<float> y, int rows)
    {
        int n = _columns.Length;
        y[..(rows * _width)].Clear();
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * n, n);
            var yr = y.Slice(r * _width, _width);
            for (int c = 0; c < n; c++)
            {
                float v = xr[c];
                if (_columns[c].Vocabulary is not { } vocabulary)
                {
                    yr[_offsets[c]] = v;
                    continue;
                }
                if (v == -1)
                    continue; // a value outside the vocabulary: none of the slots
                if (!(v >= 0 && v < vocabulary.Length && v == MathF.Floor(v)))
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                        $"OneHotColumns '{Name}': text column '{_columns[c].Name}' takes an index 0..{vocabulary.Length - 1} into its vocabulary (or −1 for none), got {v} in row {r}"));
                yr[_offsets[c] + (int)v] = 1;
            }
        }
    }

    private void BackwardRows(ReadOnlySpan<float> gy, Span<float> dx, int rows)
    {
        int n = _columns.Length;
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < n; c++)
                // NOTE: an index column gets no gradient (the one-hot of an index is piecewise constant in it).
                dx[r * n + c] = _columns[c].Vocabulary is null ? gy[r * _width + _offsets[c]] : 0;
        }
    }

    private sealed class OneHotNode(OneHotColumns layer, Tensor x) : Autograd.OpNode("OneHotColumns", [x], new Shape(x.Shape[0], layer._width))
    {
        public override string Attributes => layer.Name;

        public override void Forward() => layer.ForwardRows(Inputs[0].Span, Output.Data, Inputs[0].Shape[0]);

        public override void Backward(Span<float> gy, Autograd.GradSink grads)
        {
            var dx = BeginWrite(grads, 0, 1, out var target, out bool add);
            if (dx.IsEmpty)
                return;
            layer.BackwardRows(gy, dx, Inputs[0].Shape[0]);
            EndWrite(dx, target, add);
        }
    }
}
