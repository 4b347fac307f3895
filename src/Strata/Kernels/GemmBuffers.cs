using System.Runtime.InteropServices;

namespace Strata.Kernels;

/// <summary>
/// Per-thread packing buffers for <see cref="Gemm"/>, 64-byte aligned and kept for the thread's
/// life, so that steady-state GEMM calls allocate nothing.
/// </summary>
internal sealed unsafe class GemmBuffers
{
    [ThreadStatic]
    private static GemmBuffers? t_cached;

    private readonly float[] _storage; // pinned: the pointers below stay valid
    private readonly int _mc, _kc, _nc, _mr, _nr;

    public float* A { get; }
    public float* B { get; }
    public float* EdgeB { get; }
    public float* Tile { get; }

    private GemmBuffers(int mc, int kc, int nc, int mr, int nr)
    {
        (_mc, _kc, _nc, _mr, _nr) = (mc, kc, nc, mr, nr);
        int aSize = Align(mc * kc), bSize = Align(kc * nc), edgeSize = Align(kc * nr), tileSize = Align(mr * nr);
        _storage = GC.AllocateUninitializedArray<float>(aSize + bSize + edgeSize + tileSize + 16, pinned: true);
        float* p = (float*)Marshal.UnsafeAddrOfPinnedArrayElement(_storage, 0);
        p = (float*)(((nint)p + 63) & ~(nint)63);
        A = p;
        B = A + aSize;
        EdgeB = B + bSize;
        Tile = EdgeB + edgeSize;
    }

    private static int Align(int floats) => (floats + 15) & ~15;

    public static GemmBuffers Get(int mc, int kc, int nc, int mr, int nr)
    {
        var cached = t_cached;
        if (cached is not null && cached._mc == mc && cached._kc == kc && cached._nc == nc && cached._mr == mr && cached._nr == nr)
            return cached;
        return t_cached = new GemmBuffers(mc, kc, nc, mr, nr);
    }
}
