using Strata.Compression;
using Strata.Layers;
using Strata.Models;
using Xunit;

namespace Strata.Tests.Compression;

/// <summary>The quantized convolution's two GEMM forms give the same integers (switches <c>QuantizedMatMulNode.ReadWindowsInPlace</c>).</summary>
[Collection(ProcessWideSettingsCollection.Name)]
public class QuantizedWindowTests
{
    [Fact]
    public void ConvolutionsReadTheirWindowsInPlaceWithTheIntegersOfIm2Col()
    {
        var rng = new Rng(21);
        // Same padding (the frame), strides that leave rows over (a cropped frame), dilation down, a 1-D convolution, and C = 6 (im2col only).
        var image = new Sequential([new Input([10, 9, 4]), new Conv2D(12, (3, 3), padding: Padding.Same, activation: "relu", name: "same"),
            new Conv2D(8, (3, 2), strides: (2, 2), name: "strided"), new Conv2D(6, (2, 3), dilationRate: (2, 1), padding: Padding.Same, activation: "relu", name: "dilated"),
            new Conv2D(5, (2, 2), name: "six"), new Flatten(), new Dense(3, name: "out")], seed: 3);
        var line = new Sequential([new Input([23, 8]), new Conv1D(16, 5, padding: Padding.Same, activation: "relu", name: "c1"),
            new Conv1D(4, 3, strides: 2, name: "c2"), new Flatten(), new Dense(2, name: "out")], seed: 4);
        foreach (var (model, shape) in new (Sequential, int[])[] { (image, [10, 9, 4]), (line, [23, 8]) })
        {
            var x = Tensor.RandomNormal([7, .. shape], rng);
            model.Predict(x);
            var q = Quantizer.QuantizeStatic(model, x, new QuantizationOptions(Layers: [.. model.Layers.Where(l => l is ConvolutionLayer or Dense).Select(l => l.Name)]));
            Assert.True(q.Layers.Count(l => l is QuantizedConvolution) == model.Layers.Count(l => l is ConvolutionLayer), "every convolution is quantized");
            // The layers on four channels take the window path (C = 6 does not): the comparison below is of two paths.
            var takes = q.Layers.OfType<QuantizedConvolution>().Select(l => Strata.Kernels.Int8Gemm.TakesWindows(l.Geometry.Framed())).ToArray();
            Assert.Equal(q.Layers.OfType<QuantizedConvolution>().Select(l => l.Geometry.C % 4 == 0).ToArray(), takes);
            Assert.Contains(true, takes);
            float[] inPlace, rows;
            try
            {
                inPlace = q.Layers.Aggregate(x, (h, l) => l.Forward(h)).ToArray();
                Strata.Ops.QuantizedMatMulNode.ReadWindowsInPlace = false;
                rows = q.Layers.Aggregate(x, (h, l) => l.Forward(h)).ToArray();
            }
            finally
            {
                Strata.Ops.QuantizedMatMulNode.ReadWindowsInPlace = true;
            }
            Assert.Equal(rows, inPlace);
            Assert.Contains(inPlace, v => v != 0);
        }
    }
}
