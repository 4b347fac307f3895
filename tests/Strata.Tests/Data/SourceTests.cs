using System.Net;
using StbImageWriteSharp;
using Strata.Data;

namespace Strata.Tests.Data;

public sealed class SourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("strata-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Csv_reads_headers_delimiters_quotes_and_text_labels()
    {
        var data = Csv.Load(Write("iris.csv", "sepal,\"petal, width\",species\n5.1,0.2,setosa\n\n7.0,1.4,versicolor\n6.3,\"2.5\",virginica\n4.9,0.2,setosa\n"), labelColumn: "species");
        Assert.Equal([4, 2], data.Features.Shape.ToArray());
        Assert.Equal([5.1f, 0.2f, 7.0f, 1.4f, 6.3f, 2.5f, 4.9f, 0.2f], data.Features.ToArray());
        Assert.Equal(["sepal", "petal, width"], data.FeatureNames);
        Assert.Equal(["setosa", "versicolor", "virginica"], data.ClassNames!);
        Assert.Equal([0f, 1f, 2f, 0f], data.Labels.ToArray());

        var semi = Csv.Load(Write("semi.csv", "1;2.5;-3e2\n0;4;5\n"), labelIndex: 0, hasHeader: false, delimiter: ';');
        Assert.Equal([2.5f, -300f, 4f, 5f], semi.Features.ToArray());
        Assert.Equal([1f, 0f], semi.Labels.ToArray());
        Assert.Null(semi.ClassNames);
        Assert.Equal(["column_1", "column_2"], semi.FeatureNames);
        var ds = semi.ToDataset();
        Assert.Equal(2, ds.Count);
        Assert.Equal(new Shape(2), ds.SampleShape);
    }

    [Fact]
    public void Csv_reports_bad_rows_with_file_and_line()
    {
        string ragged = Write("ragged.csv", "a,b,label\n1,2,0\n3,4\n");
        var e = Assert.Throws<InvalidDataException>(() => Csv.Load(ragged));
        Assert.Contains("ragged.csv' line 3", e.Message);
        Assert.Contains("expected 3 fields", e.Message);

        e = Assert.Throws<InvalidDataException>(() => Csv.Load(Write("missing.csv", "a,b,label\n1,,0\n2,NA,1\n3,4,0\n")));
        Assert.Contains("2 missing value(s): line 2 column 'b'; line 3 column 'b'", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Csv.Load(Write("text.csv", "a,label\n1,0\nfoo,1\n")));
        Assert.Contains("line 3 column 'a': 'foo'", e.Message);
        Assert.Contains("no column named 'y'", Assert.Throws<InvalidDataException>(() => Csv.Load(Write("named.csv", "a,b\n1,2\n"), labelColumn: "y")).Message);
        Assert.Contains("no data rows", Assert.Throws<InvalidDataException>(() => Csv.Load(Write("empty.csv", "a,b\n"))).Message);
        Assert.Contains("not closed", Assert.Throws<InvalidDataException>(() => Csv.Load(Write("quote.csv", "a,b\n\"1,2\n"))).Message);
        Assert.Contains("missing label on line(s) 3", Assert.Throws<InvalidDataException>(() => Csv.Load(Write("nolabel.csv", "a,b\n1,2\n3,\n"))).Message);
        Assert.Throws<FileNotFoundException>(() => Csv.Load(Path.Combine(_dir, "absent.csv")));
    }

    /// <summary>A w×h image whose pixels encode their class and position, written in the given format.</summary>
    private static void WriteImage(string path, int w, int h, int channels, int seed)
    {
        var pixels = new byte[w * h * channels];
        for (int i = 0; i < pixels.Length; i++)
            pixels[i] = (byte)((seed * 37 + i * 11) % 256);
        var components = channels == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue;
        using var stream = File.Create(path);
        var writer = new ImageWriter();
        switch (Path.GetExtension(path))
        {
            case ".png": writer.WritePng(pixels, w, h, components, stream); break;
            case ".bmp": writer.WriteBmp(pixels, w, h, components, stream); break;
            default: writer.WriteJpg(pixels, w, h, components, stream, 95); break;
        }
    }

    [Fact]
    public void Image_folders_decode_mixed_formats_into_sorted_classes()
    {
        string root = Path.Combine(_dir, "pets");
        foreach (var (cls, files) in new[] { ("dog", new[] { "b.png", "a.bmp" }), ("cat", ["1.jpg", "2.png", "3.jpeg"]), ("Zebra", ["z.png"]) })
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            for (int i = 0; i < files.Length; i++)
                WriteImage(Path.Combine(root, cls, files[i]), 6, 4, 3, i);
        }
        File.WriteAllText(Path.Combine(root, "dog", "notes.txt"), "not an image");
        var data = new ImageFolderDataset(root, (4, 6));
        Assert.Equal(["Zebra", "cat", "dog"], data.ClassNames); // ordinal order
        Assert.Equal([1, 3, 2], data.ClassCounts());
        Assert.Equal(6, data.Count);
        Assert.Equal(new Shape(4, 6, 3), data.SampleShape);
        Assert.Equal(["a.bmp", "b.png"], data.Files.Where(f => f.Label == 2).Select(f => Path.GetFileName(f.Path)));

        // PNG and BMP are lossless: the exact bytes come back; JPEG is close.
        var (x, y) = data.InMemory().ToTensors();
        Assert.Equal([0f, 1, 1, 1, 2, 2], y.ToArray());
        Assert.Equal(Enumerable.Range(0, 72).Select(i => (float)((37 + i * 11) % 256)), x.Slice(4..5).ToArray()); // dog/a.bmp, seed 1
        Assert.Equal(Enumerable.Range(0, 72).Select(i => (float)(i * 11 % 256)), x.Slice(5..6).ToArray()); // dog/b.png, seed 0
        var jpg = x.Slice(1..2).ToArray(); // cat/1.jpg, seed 0
        Assert.True(jpg.Select((v, i) => Math.Abs(v - (i * 11) % 256)).Average() < 40);

        // Grayscale, resized, one-hot: the shapes and targets a Keras user asks for.
        var gray = new ImageFolderDataset(root, (8, 3), ColorMode.Grayscale, LabelMode.Categorical);
        Assert.Equal(new Shape(8, 3, 1), gray.SampleShape);
        var (gx, gy) = gray.ToTensors();
        Assert.Equal([6, 8, 3, 1], gx.Shape.ToArray());
        Assert.Equal([0f, 0, 1], gy.Slice(5..6).ToArray());
        Assert.InRange(gx.Min().ToScalar(), 0, 255);
        Assert.InRange(gx.Max().ToScalar(), 1, 255);

        // A lazy folder behind a loader with workers gives the same batches as the in-memory copy.
        var lazy = new DataLoader(data, batchSize: 4, seed: 2, workers: 2).Epoch(0).Select(b => b.X.ToArray()).ToList();
        var eager = new DataLoader(data.InMemory(), batchSize: 4, seed: 2, workers: 0).Epoch(0).Select(b => b.X.ToArray()).ToList();
        Assert.Equal(eager, lazy);
    }

    [Fact]
    public void Image_folders_name_the_bad_folder_or_file()
    {
        string root = Path.Combine(_dir, "bad");
        Directory.CreateDirectory(Path.Combine(root, "a"));
        WriteImage(Path.Combine(root, "a", "x.png"), 3, 3, 1, 0);
        Directory.CreateDirectory(Path.Combine(root, "empty"));
        var e = Assert.Throws<InvalidDataException>(() => new ImageFolderDataset(root, (3, 3)));
        Assert.Contains("empty' holds no images", e.Message);
        Directory.Delete(Path.Combine(root, "empty"));

        File.WriteAllBytes(Path.Combine(root, "a", "zero.png"), []);
        Assert.Contains("zero.png' is empty (0 bytes)", Assert.Throws<InvalidDataException>(() => new ImageFolderDataset(root, (3, 3))).Message);
        File.WriteAllBytes(Path.Combine(root, "a", "zero.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        var data = new ImageFolderDataset(root, (3, 3));
        var loader = new DataLoader(data, batchSize: 1, shuffle: false, workers: 1);
        e = Assert.Throws<InvalidDataException>(() => loader.Epoch(0).ToList());
        Assert.Contains("zero.png': not a decodable", e.Message);
        Assert.Contains("zero.png", Assert.Throws<InvalidDataException>(() => data.InMemory()).Message);

        Assert.Throws<DirectoryNotFoundException>(() => new ImageFolderDataset(Path.Combine(_dir, "nowhere"), (3, 3)));
        string flat = Path.Combine(_dir, "flat");
        Directory.CreateDirectory(flat);
        Assert.Contains("no class subfolders", Assert.Throws<InvalidDataException>(() => new ImageFolderDataset(flat, (3, 3))).Message);
    }

    /// <summary>Serves a folder over HTTP on 127.0.0.1, counting requests; some names can be made to lie.</summary>
    private sealed class LocalServer : IDisposable
    {
        private readonly HttpListener _listener;
        private readonly string _folder;
        private readonly Thread _thread;

        public LocalServer(string folder)
        {
            _folder = folder;
            for (int attempt = 0; ; attempt++)
            {
                int port = 20000 + Random.Shared.Next(30000);
                // NOTE: a listener whose Start failed (port taken) is closed for good: each attempt needs a new one.
                var listener = new HttpListener();
                listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                try
                {
                    listener.Start();
                    _listener = listener;
                    BaseUrl = new Uri($"http://127.0.0.1:{port}/files/");
                    break;
                }
                catch (HttpListenerException) when (attempt < 20)
                {
                    listener.Close();
                }
            }
            _thread = new Thread(Serve) { IsBackground = true };
            _thread.Start();
        }

        public Uri BaseUrl { get; } = null!;

        public int Requests;

        public HashSet<string> Corrupt { get; } = [];

        private void Serve()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = _listener.GetContext();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                Interlocked.Increment(ref Requests);
                string name = Path.GetFileName(context.Request.Url!.LocalPath);
                string path = Path.Combine(_folder, name);
                if (!File.Exists(path))
                {
                    context.Response.StatusCode = 404;
                    context.Response.Close();
                    continue;
                }
                var bytes = File.ReadAllBytes(path);
                if (Corrupt.Contains(name))
                    bytes[bytes.Length / 2] ^= 1;
                context.Response.ContentLength64 = bytes.Length;
                context.Response.OutputStream.Write(bytes);
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
        }
    }

    [Fact]
    public void Downloads_are_verified_cached_and_never_left_half_written()
    {
        using var server = new LocalServer(RepoPaths.Mnist);
        string cache = Path.Combine(_dir, "cache");
        string folder = Mnist.Download(server.BaseUrl, cache);
        Assert.Equal(4, server.Requests);
        var (images, labels) = Mnist.Load(folder, train: false);
        var (expected, expectedLabels) = Mnist.Load(RepoPaths.Mnist, train: false);
        Assert.Equal(expected.ToArray(), images.ToArray());
        Assert.Equal(expectedLabels, labels);
        Mnist.Download(server.BaseUrl, cache);
        Assert.Equal(4, server.Requests); // verified copies in the cache are not fetched again

        // A damaged cached file is fetched again; a damaged download is refused and leaves nothing behind.
        string cached = Path.Combine(cache, "t10k-labels-idx1-ubyte.gz");
        File.WriteAllBytes(cached, [1, 2, 3]);
        Mnist.Download(server.BaseUrl, cache);
        Assert.Equal(5, server.Requests);
        Assert.Equal(Mnist.ShippedSha256["t10k-labels-idx1-ubyte.gz"], DataCache.HashOf(cached));

        string fresh = Path.Combine(_dir, "fresh");
        server.Corrupt.Add("t10k-images-idx3-ubyte.gz");
        var e = Assert.Throws<InvalidDataException>(() => DataCache.Fetch(new Uri(server.BaseUrl, "t10k-images-idx3-ubyte.gz"),
            Mnist.ShippedSha256["t10k-images-idx3-ubyte.gz"], fresh));
        Assert.Contains("t10k-images-idx3-ubyte.gz has SHA-256", e.Message);
        Assert.Contains("expected " + Mnist.ShippedSha256["t10k-images-idx3-ubyte.gz"], e.Message);
        Assert.Empty(Directory.GetFiles(fresh));

        var missing = Assert.Throws<HttpRequestException>(() => DataCache.Fetch(new Uri(server.BaseUrl, "absent.gz"), new string('0', 64), fresh));
        Assert.Contains("404", missing.Message);
        Assert.Empty(Directory.GetFiles(fresh));
        Assert.Throws<ArgumentException>(() => DataCache.Fetch(server.BaseUrl, "abc", fresh));
    }

    /// <summary>A test that needs Debian's dataset-fashion-mnist package (installed by .ci/run): skipped, saying so, where it is absent.</summary>
    private sealed class FashionMnistFactAttribute : FactAttribute
    {
        public FashionMnistFactAttribute()
        {
            if (!Directory.Exists(FashionMnist.DebianFolder))
                Skip = $"{FashionMnist.DebianFolder} is not installed (apt-get install dataset-fashion-mnist)";
        }
    }

    [FashionMnistFact]
    public void Fashion_mnist_from_debians_package()
    {
        foreach (var (name, hash) in FashionMnist.Sha256)
            Assert.Equal(hash, DataCache.HashOf(Path.Combine(FashionMnist.DebianFolder, name)));
        var train = FashionMnist.LoadDataset(train: true);
        var test = FashionMnist.LoadDataset(train: false);
        Assert.Equal(60_000, train.Count);
        Assert.Equal(10_000, test.Count);
        Assert.Equal(new Shape(28, 28, 1), train.SampleShape);
        Assert.Equal("Ankle boot", train.ClassNames![9]);
        var (x, y) = test.ToTensors();
        // Balanced: 1,000 test images of each class; the published mean pixel of the training set is 0.2860.
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, y.ToArray().Count(v => v == c)));
        Assert.Equal(0.2860, FashionMnist.Load(train: true).Images.Mean().ToScalar(), 3);
        Assert.InRange(x.Max().ToScalar(), 0.99f, 1f);

        // The same files through a download: served locally, verified against FashionMnist.Sha256.
        using var server = new LocalServer(FashionMnist.DebianFolder);
        string folder = FashionMnist.Download(server.BaseUrl, Path.Combine(_dir, "fashion"));
        Assert.Equal(y.ToArray(), FashionMnist.LoadDataset(train: false, folder).ToTensors().Y.ToArray());
    }

    [Fact]
    public void To_categorical_one_hots_class_indices()
    {
        Assert.Equal([0f, 0, 1, 1, 0, 0], Labels.ToCategorical([2, 0]).ToArray());
        Assert.Equal([3, 5], Labels.ToCategorical([2, 0, 4], classes: 5).Shape.ToArray());
        Assert.Equal([0f, 1, 1, 0], Labels.ToCategorical(Tensor.FromArray([1f, 0f])).ToArray());
        Assert.Contains("1.5", Assert.Throws<ArgumentException>(() => Labels.ToCategorical(Tensor.FromArray([1.5f]))).Message);
        Assert.Contains("outside 0..1", Assert.Throws<ArgumentException>(() => Labels.ToCategorical([2], classes: 2)).Message);
    }
}
