using BenchmarkDotNet.Running;
using Strata.Benchmarks;

// Every run says which kernel paths it measured (DOTNET_EnableAVX512=0 / DOTNET_EnableAVX=0 select narrower ones).
Console.WriteLine($"# kernels: {Strata.Kernels.KernelSettings.VectorPath} (GEMM micro-kernel {Strata.Kernels.Gemm.SelectedKernel}), int8 {Strata.Kernels.KernelSettings.Int8Path}; {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}");
Console.WriteLine($"# caches: {Strata.Kernels.KernelSettings.CacheBlocking}");

// Quick comparisons print markdown tables (for docs/PERFORMANCE.md); anything else goes to BenchmarkDotNet.
//   int8gemm [--seconds 1]: the int8 GEMM on each path this machine runs, against the float SGEMM at the same shapes
if (args.Length > 0 && args[0] == "int8gemm")
{
    double seconds = 1.0;
    for (int i = 1; i < args.Length - 1; i++)
        if (args[i] == "--seconds") seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    Int8GemmComparison.Run(seconds);
    return;
}
//   gemm [--threads 1,2] [--seconds 1] [--only NAME] [--packb B] [--direct-a B] [--blocking kc,mcPanels,nc] [--openblas-core Haswell (the peer on its AVX2 kernels)]
if (args.Length > 0 && args[0] == "gemm")
{
    int[] threads = [1, Environment.ProcessorCount];
    double seconds = 1.0;
    string? only = null;
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--threads") threads = args[++i].Split(',').Select(int.Parse).ToArray();
        else if (args[i] == "--seconds") seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--only") only = args[++i];
        else if (args[i] == "--packb") Strata.Kernels.Gemm.ForcePackB = bool.Parse(args[++i]);
        else if (args[i] == "--direct-a") Strata.Kernels.Gemm.ForceDirectA = bool.Parse(args[++i]);
        else if (args[i] == "--openblas-core") Strata.Benchmarks.OpenBlas.ForcedCore = args[++i];
        else if (args[i] == "--blocking") // kc,mcPanels,nc
        {
            var b = args[++i].Split(',').Select(int.Parse).ToArray();
            Strata.Kernels.Gemm.Blocks = new(b[0], b[1], b[2]);
        }
    }
    GemmComparison.Run(threads.Distinct().ToArray(), seconds, only);
    return;
}
//   mlp|cnn|cnn3 [--threads N] [--batches 32,128] [--data data/mnist] [--samples N (default: all 60,000)]
if (args.Length > 0 && args[0] is "mlp" or "cnn" or "cnn3")
{
    int threads = 1;
    int[] batches = [32, 128];
    string data = "data/mnist";
    int samples = 0;
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--threads") threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--batches") batches = args[++i].Split(',').Select(int.Parse).ToArray();
        else if (args[i] == "--data") data = args[++i];
        else if (args[i] == "--samples") samples = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    }
    ModelComparison.Run(args[0], data, threads, batches, samples);
    return;
}
//   allreduce [--sizes 4096,65536,1048576,4194304,16777216] [--seconds 0.5]: under mpirun -np N; the binding's all-reduce per message size
if (args.Length > 0 && args[0] == "allreduce")
{
    long[] sizes = [4096, 65536, 1 << 20, 4 << 20, 16 << 20];
    double seconds = 0.5;
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--sizes") sizes = args[++i].Split(',').Select(v => long.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        else if (args[i] == "--seconds") seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    }
    DistributedBench.AllReduce(sizes, seconds);
    return;
}
//   ddp [--model cnn] [--threads 1] [--batch 32 (global)] [--samples 0 (all)] [--epochs 2 (the last is timed)] [--data data/mnist]
//       [--bucket-mb 1] [--overlap on|off|both] [--repeats 1]:
//   seed-model epochs, alone or under mpirun -np N (the global batch split over the ranks), with the all-reduce's share;
//   --overlap both alternates fresh runs with buckets started during the backward pass and after it, in one job
if (args.Length > 0 && args[0] == "ddp")
{
    int threads = 1, batch = 32, samples = 0, epochs = 2, repeats = 1;
    double? bucketMb = null;
    string model = "cnn", data = "data/mnist", overlap = "on";
    for (int i = 1; i < args.Length - 1; i++)
    {
        int Next() => int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        if (args[i] == "--threads") threads = Next();
        else if (args[i] == "--batch") batch = Next();
        else if (args[i] == "--samples") samples = Next();
        else if (args[i] == "--epochs") epochs = Next();
        else if (args[i] == "--repeats") repeats = Next();
        else if (args[i] == "--bucket-mb") bucketMb = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--overlap") overlap = args[++i];
        else if (args[i] == "--model") model = args[++i];
        else if (args[i] == "--data") data = args[++i];
    }
    if (overlap is not ("on" or "off" or "both"))
        throw new ArgumentException($"ddp --overlap: expected on, off or both, got '{overlap}'");
    DistributedBench.Ddp(model, data, threads, batch, samples, epochs, bucketMb, overlap, repeats);
    return;
}
//   gan [--threads N] [--batch 64] [--samples 4096] [--conditional]
if (args.Length > 0 && args[0] == "gan")
{
    int threads = 1, batch = 64, samples = 4096;
    bool conditional = args.Contains("--conditional");
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--threads") threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--batch") batch = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--samples") samples = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    }
    GanComparison.Run("data/mnist", threads, batch, samples, conditional);
    return;
}
//   quant [--threads N] [--rounds 7] [--no-peer]   (--no-peer: skip ONNX Runtime on the exported models)
if (args.Length > 0 && args[0] == "quant")
{
    int threads = 1, rounds = 7;
    bool peer = !args.Contains("--no-peer");
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--threads") threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--rounds") rounds = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    }
    QuantComparison.Run("data/mnist", threads, rounds, peer);
    return;
}
//   explain [--threads N] [--batch 100] [--steps 64]
if (args.Length > 0 && args[0] == "explain")
{
    int threads = 1, batch = 100, steps = 64;
    for (int i = 1; i < args.Length - 1; i++)
    {
        int Next() => int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        if (args[i] == "--threads") threads = Next();
        else if (args[i] == "--batch") batch = Next();
        else if (args[i] == "--steps") steps = Next();
    }
    ExplainComparison.Run("data/mnist", threads, batch, steps);
    return;
}
//   prune [--threads N] [--epochs 5] [--finetune 6] [--cnn-epochs 0 (0: the shipped classifier)] [--cnn-finetune 3] [--sparsity 0.9] [--global false] [--only all|mlp|cnn] [--timing true]
if (args.Length > 0 && args[0] == "prune")
{
    int threads = 1, epochs = 5, finetune = 6, cnnEpochs = 0, cnnFinetune = 3;
    float sparsity = 0.9f;
    bool timing = true, global = false;
    string only = "all";
    for (int i = 1; i < args.Length - 1; i++)
    {
        int Next() => int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        if (args[i] == "--threads") threads = Next();
        else if (args[i] == "--epochs") epochs = Next();
        else if (args[i] == "--finetune") finetune = Next();
        else if (args[i] == "--cnn-epochs") cnnEpochs = Next();
        else if (args[i] == "--cnn-finetune") cnnFinetune = Next();
        else if (args[i] == "--sparsity") sparsity = float.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--only") only = args[++i];
        else if (args[i] == "--timing") timing = bool.Parse(args[++i]);
        else if (args[i] == "--global") global = bool.Parse(args[++i]);
    }
    PruningRun.Run("data/mnist", threads, epochs, finetune, cnnEpochs, cnnFinetune, timing, only, sparsity, global);
    return;
}
//   rnn [--cell lstm|gru] [--threads N] [--batch 64] [--steps 100] [--inputs 128] [--units 256] [--batches 10]
if (args.Length > 0 && args[0] == "rnn")
{
    string cell = "lstm";
    int threads = 1, batch = 64, steps = 100, inputs = 128, units = 256, batches = 10;
    for (int i = 1; i < args.Length - 1; i++)
    {
        int Next() => int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        if (args[i] == "--cell") cell = args[++i];
        else if (args[i] == "--threads") threads = Next();
        else if (args[i] == "--batch") batch = Next();
        else if (args[i] == "--steps") steps = Next();
        else if (args[i] == "--inputs") inputs = Next();
        else if (args[i] == "--units") units = Next();
        else if (args[i] == "--batches") batches = Next();
    }
    RnnComparison.Run(cell, threads, batch, steps, inputs, units, batches);
    return;
}
//   text [--presets lstm,gru,rcnn,bow] [--epochs 5] [--threads N] [--length 400] [--tokens 20000] [--batch 32] [--seed 1]
if (args.Length > 0 && args[0] == "text")
{
    string[] presets = ["lstm", "gru", "rcnn", "bow"];
    int epochs = 5, threads = 1, length = 400, tokens = 20000, batch = 32;
    ulong seed = 1;
    for (int i = 1; i < args.Length - 1; i++)
    {
        int Next() => int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        if (args[i] == "--presets") presets = args[++i].Split(',');
        else if (args[i] == "--epochs") epochs = Next();
        else if (args[i] == "--threads") threads = Next();
        else if (args[i] == "--length") length = Next();
        else if (args[i] == "--tokens") tokens = Next();
        else if (args[i] == "--batch") batch = Next();
        else if (args[i] == "--seed") seed = (ulong)Next();
    }
    TextAccuracy.Run(presets, epochs, threads, length, tokens, batch, seed);
    return;
}
//   step-overhead [--batch 32] [--steps 30000]: one compiled training step in a loop (time, bytes), bulk uniform draws
if (args.Length > 0 && args[0] == "step-overhead")
{
    int batch = 32, steps = 30000;
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--batch") batch = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--steps") steps = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    }
    StepOverhead.Run("data/mnist", batch, steps);
    return;
}
//   plans [--threads N] [--batch 32] [--samples 10000] [--models cnn,cnn+bn,mlp2,residual,custom]: plan vs eager, and the newly fast models
if (args.Length > 0 && args[0] == "plans")
{
    int threads = 1, batch = 32, samples = 10000;
    string[] models = ["cnn", "cnn+bn", "mlp2", "residual", "custom"];
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--threads") threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--batch") batch = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--samples") samples = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--models") models = args[++i].Split(',');
    }
    PlanComparison.Run("data/mnist", threads, batch, samples, models);
    return;
}
//   convshapes [--threads N] [--batch 32] [--seconds 0.5] [--packb true|false] [--only NAME]: Conv2D GFLOP/s per layer shape, direct vs im2col + GEMM
if (args.Length > 0 && args[0] == "convshapes")
{
    int threads = 1, batch = 32;
    double seconds = 0.5;
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--threads") threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--batch") batch = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--seconds") seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--packb") Strata.Kernels.Gemm.ForcePackB = bool.Parse(args[++i]);
        else if (args[i] == "--only") ConvShapes.Only = args[++i];
    }
    ConvShapes.Run(threads, batch, seconds);
    return;
}
//   onnx mlp|cnn|cnn3 [--threads N] [--rounds 7] [--slice-kb N (Predict's slices)] [--blocking kc,mcPanels,nc] [--in-sequence (each op's time inside Predict)] [--data data/mnist]: inference against ONNX Runtime on the exported model
if (args.Length > 1 && args[0] == "onnx")
{
    int threads = 1, rounds = 7;
    string data = "data/mnist";
    for (int i = 2; i < args.Length - 1; i++)
    {
        if (args[i] == "--threads") threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--rounds") rounds = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--slice-kb") Strata.Models.Model.InferenceSliceBytes = long.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture) << 10;
        else if (args[i] == "--data") data = args[++i];
        else if (args[i] == "--blocking") // kc,mcPanels,nc
        {
            var b = args[++i].Split(',').Select(int.Parse).ToArray();
            Strata.Kernels.Gemm.Blocks = new(b[0], b[1], b[2]);
        }
    }
    OnnxPeer.InSequence = args.Contains("--in-sequence");
    OnnxPeer.Run(args[1], data, threads, rounds);
    return;
}
//   profile mlp|cnn|cnn3[-int8] [--batch 1000] [--seconds 2] [--data data/mnist]: the inference plan's ops timed one at a time (1 thread); profile gan [--batch 64]: the DCGAN training step per node; profile mlp-train|cnn-train [--batch 32]: a seed model's training step per node
if (args.Length > 1 && args[0] == "profile")
{
    int? batch = null;
    double seconds = 2;
    string data = "data/mnist";
    for (int i = 2; i < args.Length - 1; i++)
    {
        if (args[i] == "--batch") batch = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--seconds") seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--data") data = args[++i];
    }
    InferenceProfile.Run(args[1], data, batch, seconds);
    return;
}
//   latency mlp|cnn|cnn3 [--threads 1] [--calls 10000] [--data data/mnist]: single-sample Predict against ONNX Runtime, median and p99
if (args.Length > 1 && args[0] == "latency")
{
    int threads = 1, calls = 10000;
    string data = "data/mnist";
    for (int i = 2; i < args.Length - 1; i++)
    {
        if (args[i] == "--threads") threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--calls") calls = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--data") data = args[++i];
    }
    OnnxPeer.Latency(args[1], data, threads, calls);
    return;
}
//   safetensors|modelfile [--mb 100] [--folder /tmp/strata-bench]: save / load throughput of a weights file or a whole-model .strata file
if (args.Length > 0 && args[0] is "safetensors" or "modelfile")
{
    int mb = 100;
    string folder = Path.Combine(Path.GetTempPath(), "strata-bench");
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--mb") mb = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--folder") folder = args[++i];
    }
    if (args[0] == "safetensors")
        SafeTensorsBench.Run(mb, folder);
    else
        ModelFileBench.Run(mb, folder);
    return;
}
//   accuracy mlp|cnn|cnn3 [--threads N] [--epochs 5] [--batch 32] [--data data/mnist] [--augment true]: full MNIST training, test accuracy
if (args.Length > 1 && args[0] == "accuracy")
{
    int threads = Environment.ProcessorCount, epochs = 5, batch = 32;
    string data = "data/mnist";
    bool augment = false;
    for (int i = 2; i < args.Length - 1; i++)
    {
        if (args[i] == "--threads") threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--epochs") epochs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--batch") batch = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--data") data = args[++i];
        else if (args[i] == "--augment") augment = bool.Parse(args[++i]);
    }
    AccuracyRun.Run(args[1], data, threads, epochs, batch, augment);
    return;
}
//   distill [--seeds 1,2,3] [--samples 250] [--epochs 100] [--hidden 32] [--temperature 4] [--alpha 0.1] [--batch 32] [--threads 1] [--teacher shipped|subset] [--data data/mnist]:
//   an MLP student alone vs distilled from the seed CNN, MNIST test accuracy per seed
if (args.Length > 0 && args[0] == "distill")
{
    int[] seeds = [1, 2, 3];
    int samples = 250, epochs = 100, hidden = 32, batch = 32, threads = 1;
    float temperature = 4, alpha = 0.1f;
    string data = "data/mnist", teacher = "shipped";
    for (int i = 1; i < args.Length - 1; i++)
    {
        int Next() => int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        float NextFloat() => float.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        if (args[i] == "--seeds") seeds = args[++i].Split(',').Select(int.Parse).ToArray();
        else if (args[i] == "--samples") samples = Next();
        else if (args[i] == "--epochs") epochs = Next();
        else if (args[i] == "--hidden") hidden = Next();
        else if (args[i] == "--temperature") temperature = NextFloat();
        else if (args[i] == "--alpha") alpha = NextFloat();
        else if (args[i] == "--batch") batch = Next();
        else if (args[i] == "--threads") threads = Next();
        else if (args[i] == "--teacher") teacher = args[++i];
        else if (args[i] == "--data") data = args[++i];
    }
    DistillAccuracy.Run(data, seeds, samples, epochs, hidden, temperature, alpha, batch, threads, teacher);
    return;
}
//   augment [--threads N] [--rounds 3] [--samples N (default all)] [--data data/mnist] [--grid PNG]: augmentation, loader and training-with-augmentation figures
if (args.Length > 0 && args[0] == "augment")
{
    int threads = Environment.ProcessorCount, rounds = 3, samples = 0;
    string data = "data/mnist";
    string? grid = null;
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--threads") threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--rounds") rounds = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--samples") samples = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        else if (args[i] == "--data") data = args[++i];
        else if (args[i] == "--grid") grid = args[++i];
    }
    AugmentationBench.Run(data, threads, rounds, samples, grid);
    return;
}
//   summation-accuracy [--folder /tmp/strata-sum]: float32 sum / mean / column-sum error vs float64, before and after pairwise summation; writes the data for bench/compare/sum_accuracy_torch.py
if (args.Length > 0 && args[0] == "summation-accuracy")
{
    string folder = Path.Combine(Path.GetTempPath(), "strata-sum");
    for (int i = 1; i < args.Length - 1; i++)
    {
        if (args[i] == "--folder") folder = args[++i];
    }
    SummationAccuracy.Run(folder);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(GemmComparison).Assembly).Run(args);
