using System.Collections.Concurrent;
using Strata.Autograd;

namespace Strata.Models;

/// <summary>
/// A model's compiled plans, by call signature (kind, input shapes, trainable set). The first call of
/// a signature runs eagerly under a trace and compiles a candidate; the second does the same and, if
/// both traces are the same step (same ops, settings, shapes, wiring and constants), the signature is
/// confirmed and later calls replay a plan. A step whose trace cannot be replayed, or changes between
/// calls (data-dependent control flow), stays eager, with the reason kept for <see cref="Model.ExecutionPath"/>.
/// Plans are rented one thread at a time; concurrent callers get plans of their own.
/// </summary>
internal sealed class PlanCache
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    internal sealed class Entry
    {
        public readonly ConcurrentBag<Plan> Pool = [];
        public Plan? Candidate;
        public volatile bool Confirmed;
        public volatile string? EagerReason;
        public int Traces;
        public List<Tensor>? Trainable; // the parameters a training plan updates
        public string[]? OutputNames; // a traced custom step's named results
    }

    public Entry Get(string key) => _entries.GetOrAdd(key, static _ => new Entry());

    /// <summary>Changes on every <see cref="Clear"/>: an entry found before it is no longer the cache's.</summary>
    public int Generation => Volatile.Read(ref _generation);

    private int _generation;

    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
    }

    /// <summary>The entries by key.</summary>
    public IEnumerable<KeyValuePair<string, Entry>> Entries() => _entries;

    /// <summary>What runs: per signature, compiled or eager (with the reason).</summary>
    public IEnumerable<(string Key, bool Compiled, string? Reason)> Describe() =>
        _entries.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => (e.Key, e.Value.Confirmed, e.Value.EagerReason));

    /// <summary>
    /// Files a freshly traced plan (or its failure) under the entry; returns whether the plan may be
    /// reused (put back in the pool after this call).
    /// </summary>
    public static bool Admit(Entry entry, Plan? plan, string? why)
    {
        lock (entry)
        {
            entry.Traces++;
            if (entry.EagerReason is not null)
                return false;
            if (plan is null)
            {
                entry.EagerReason = why ?? "the step could not be traced";
                entry.Candidate = null;
                return false;
            }
            if (entry.Confirmed)
                return true;
            if (entry.Candidate is null)
            {
                entry.Candidate = plan;
                return false; // kept aside until a second trace confirms it
            }
            if (!entry.Candidate.SameStepAs(plan))
            {
                entry.EagerReason = "the step changed between two calls (data-dependent control flow, values or generators from outside the step)";
                entry.Candidate = null;
                return false;
            }
            entry.Pool.Add(entry.Candidate);
            entry.Candidate = null;
            entry.Confirmed = true;
            return true;
        }
    }
}
