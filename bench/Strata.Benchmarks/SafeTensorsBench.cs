using System.Diagnostics;
using System.Globalization;
using Strata.Serialization;

namespace Strata.Benchmarks;

/// <summary>Save and load time of a safetensors file of about <c>mb</c> megabytes (25 tensors), best of 5, against a plain read of the same file.</summary>
internal static class SafeTensorsBench
{
    /// <summary>The best of 5 (save, load, plain read) times in seconds for a file written by save and read back by load.</summary>
    internal static (double Save, double Load, double Read) Best(string path, Action save, Func<object> load)
    {
        double s = double.MaxValue, l = double.MaxValue, r = double.MaxValue;
        var sw = new Stopwatch();
        for (int round = 0; round < 5; round++)
        {
            sw.Restart();
            save();
            s = Math.Min(s, sw.Elapsed.TotalSeconds);
            sw.Restart();
            var loaded = load();
            l = Math.Min(l, sw.Elapsed.TotalSeconds);
            sw.Restart();
            _ = File.ReadAllBytes(path);
            r = Math.Min(r, sw.Elapsed.TotalSeconds);
            GC.KeepAlive(loaded); // alive through the read, as a user's loaded model would be
        }
        return (s, l, r);
    }

    public static void Run(int mb, string folder)
    {
        int tensors = 25, per = (int)((long)mb * 1_000_000 / 4 / tensors);
        var dict = new Dictionary<string, Tensor>();
        for (int i = 0; i < tensors; i++)
            dict[$"layer{i:D2}/kernel"] = Tensor.RandomUniform([per], -1f, 1f, (ulong)i);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "bench.safetensors");
        try
        {
            var (save, load, read) = Best(path, () => SafeTensors.Save(path, dict), () =>
            {
                var back = SafeTensors.Load(path);
                return back.Tensors.Count == tensors ? back : throw new InvalidOperationException("round trip lost tensors");
            });
            double size = new FileInfo(path).Length / 1e6;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"file {size:F1} MB: save {save * 1e3:F0} ms ({size / save:F0} MB/s, flushed to disk), load {load * 1e3:F0} ms ({size / load:F0} MB/s), plain File.ReadAllBytes {read * 1e3:F0} ms ({size / read:F0} MB/s)"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>Save and load time of a whole-model file (.strata) of about <c>mb</c> megabytes of weights, best of 5, against a plain read.</summary>
internal static class ModelFileBench
{
    public static void Run(int mb, string folder)
    {
        // Dense layers of 2,500 × 2,500 (25 MB each) until the weights reach the size asked for.
        int layers = Math.Max(1, (int)Math.Round(mb / 25.0));
        var model = new Models.Sequential([new Layers.Input([2500]), .. Enumerable.Range(0, layers).Select(_ => (Layers.Layer)new Layers.Dense(2500))], seed: 1);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "bench.strata");
        try
        {
            var (save, load, read) = SafeTensorsBench.Best(path, () => model.Save(path), () =>
            {
                var back = Models.Model.Load(path);
                return back.Layers.Count == model.Layers.Count ? back : throw new InvalidOperationException("round trip lost layers");
            });
            double size = new FileInfo(path).Length / 1e6;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"model file {size:F1} MB ({layers} Dense 2500×2500): save {save * 1e3:F0} ms ({size / save:F0} MB/s, flushed to disk), " +
                $"load {load * 1e3:F0} ms ({size / load:F0} MB/s, layers rebuilt, CRC-32 checked), plain File.ReadAllBytes {read * 1e3:F0} ms ({size / read:F0} MB/s)"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
