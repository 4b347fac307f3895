using System.Globalization;
using System.Runtime.Intrinsics.X86;

namespace Strata.Kernels;

/// <summary>
/// The data caches of the core this process runs on, read once at run time: on x86 from CPUID's
/// deterministic cache parameters (leaf 0x8000001D on AMD and Hygon, leaf 4 on Intel: ways × partitions
/// × line size × sets per level), else from Linux's /sys/devices/system/cpu/cpu0/cache, else typical
/// sizes (32 KiB, 512 KiB, 8 MiB). The GEMM chooses its blocking from them (<see cref="Gemm.BlocksFor"/>).
/// </summary>
internal sealed record CacheSizes(int L1Data, int L2, long L3, int L3SharedBy, string Source)
{
    /// <summary>Typical sizes, when nothing can be read.</summary>
    public static readonly CacheSizes Typical = new(32 << 10, 512 << 10, 8L << 20, 1, "typical sizes (not read)");

    private static readonly Lazy<CacheSizes> Read = new(() => FromCpuid() ?? FromSysfs() ?? Typical);

    /// <summary>This machine's (read on first use).</summary>
    public static CacheSizes Machine => Read.Value;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"L1d {L1Data >> 10} KiB, L2 {L2 >> 10} KiB, L3 {(L3 >= 1 << 20 ? $"{L3 >> 20} MiB" : $"{L3 >> 10} KiB")}" +
        $"{(L3SharedBy > 1 ? $" shared by {L3SharedBy} threads" : "")} ({Source})");

    private static CacheSizes? FromCpuid()
    {
        if (!X86Base.IsSupported)
            return null;
        try
        {
            var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
            string vendor = string.Concat(Text(ebx), Text(edx), Text(ecx));
            int leaf;
            if (vendor is "AuthenticAMD" or "HygonGenuine")
            {
                int maxExtended = X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
                if ((uint)maxExtended < 0x8000001D)
                    return null;
                leaf = unchecked((int)0x8000001D);
            }
            else if (vendor == "GenuineIntel")
            {
                if (X86Base.CpuId(0, 0).Eax < 4)
                    return null;
                leaf = 4;
            }
            else
                return null;
            int l1 = 0, l2 = 0, l3Shared = 1;
            long l3 = 0;
            for (int sub = 0; sub < 16; sub++)
            {
                var (a, b, c, _) = X86Base.CpuId(leaf, sub);
                int type = a & 0x1F; // 0 none, 1 data, 2 instruction, 3 unified
                if (type == 0)
                    break;
                if (type == 2)
                    continue;
                int level = (a >> 5) & 0x7;
                long size = (long)(((b >> 22) & 0x3FF) + 1) * (((b >> 12) & 0x3FF) + 1) * ((b & 0xFFF) + 1) * ((long)(uint)c + 1);
                int sharedBy = ((a >> 14) & 0xFFF) + 1;
                switch (level)
                {
                    case 1: l1 = (int)size; break;
                    case 2: l2 = (int)size; break;
                    case 3: (l3, l3Shared) = (size, sharedBy); break;
                }
            }
            return Plausible(l1, l2, l3, l3Shared, $"CPUID leaf 0x{leaf:X}");
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }

    private static string Text(int register) => string.Create(4, register, (span, r) =>
    {
        for (int i = 0; i < 4; i++)
            span[i] = (char)((r >> (8 * i)) & 0xFF);
    });

    private static CacheSizes? FromSysfs()
    {
        const string root = "/sys/devices/system/cpu/cpu0/cache";
        if (!OperatingSystem.IsLinux() || !Directory.Exists(root))
            return null;
        int l1 = 0, l2 = 0, l3Shared = 1;
        long l3 = 0;
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(root, "index*"))
            {
                string type = File.ReadAllText(Path.Combine(dir, "type")).Trim();
                if (type == "Instruction")
                    continue;
                int level = int.Parse(File.ReadAllText(Path.Combine(dir, "level")).Trim(), CultureInfo.InvariantCulture);
                long size = ParseSize(File.ReadAllText(Path.Combine(dir, "size")).Trim());
                switch (level)
                {
                    case 1: l1 = (int)size; break;
                    case 2: l2 = (int)size; break;
                    case 3:
                        l3 = size;
                        l3Shared = CountCpus(File.ReadAllText(Path.Combine(dir, "shared_cpu_list")).Trim());
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
        return Plausible(l1, l2, l3, l3Shared, root);
    }

    /// <summary>"32K", "1024K", "32M" (sysfs's units are KiB and MiB).</summary>
    internal static long ParseSize(string text)
    {
        long unit = text.EndsWith('K') ? 1 << 10 : text.EndsWith('M') ? 1 << 20 : text.EndsWith('G') ? 1 << 30 : 1;
        string digits = unit == 1 ? text : text[..^1];
        return long.Parse(digits, CultureInfo.InvariantCulture) * unit;
    }

    /// <summary>The number of CPUs in a list such as "0-3,8-11" or "0".</summary>
    internal static int CountCpus(string list)
    {
        int count = 0;
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-');
            count += dash < 0 ? 1 : int.Parse(part[(dash + 1)..], CultureInfo.InvariantCulture) - int.Parse(part[..dash], CultureInfo.InvariantCulture) + 1;
        }
        return Math.Max(1, count);
    }

    /// <summary>The sizes when they look like real caches (a hypervisor may report zeros); a missing L3 is the L2.</summary>
    private static CacheSizes? Plausible(int l1, int l2, long l3, int l3Shared, string source)
    {
        if (l1 < 8 << 10 || l1 > 1 << 20 || l2 < l1 || l2 > 64 << 20)
            return null;
        if (l3 < l2)
            (l3, l3Shared) = (l2, 1);
        return new CacheSizes(l1, l2, l3, Math.Max(1, l3Shared), source);
    }
}
