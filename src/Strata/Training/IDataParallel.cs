namespace Strata.Training;

/// <summary>
/// Data parallelism's hook into <see cref="Models.Model.Fit(Data.DataLoader, int, Data.DataLoader?, IEnumerable{Callback}?, bool, int, int, CancellationToken)"/>
/// and the default <see cref="Models.Model.TrainStep(Tensor[], Tensor, Tensor?)"/>: the model runs as one replica
/// of several, each on its own shard of the data (see <see cref="Data.DataLoader.Sharded"/>). The core calls it
/// and knows nothing of the transport; Strata.Distributed implements it over MPI.
/// </summary>
/// <remarks>
/// The calls are collective: every replica makes the same calls in the same order (the same number of
/// steps per epoch, which the sharded loader guarantees), or the group waits.
/// </remarks>
public interface IDataParallel
{
    /// <summary>This replica's index in [0, <see cref="Replicas"/>); replica 0 leads (prints, writes files).</summary>
    int Rank { get; }

    /// <summary>The number of replicas.</summary>
    int Replicas { get; }

    /// <summary>
    /// Called by the training step between the backward pass and the optimizer update: replaces every
    /// parameter's <see cref="Tensor.Grad"/> by the mean over the replicas (each replica's gradient is its
    /// local batch's mean, and all local batches of a step are the same size, so the mean of the means is
    /// the gradient of the global batch). Returns the mean of <paramref name="loss"/> (the local batch
    /// loss) over the replicas, which becomes the step's loss on every replica.
    /// </summary>
    float ReduceGradients(IReadOnlyList<Tensor> parameters, float loss);

    /// <summary>
    /// Called during the backward pass of a compiled step, as soon as <paramref name="parameter"/>'s
    /// <see cref="Tensor.Grad"/> holds its final value for this step (no later node of the pass adds to
    /// it), in the order the pass produces them — roughly the layers from last to first — and always
    /// before the step's <see cref="ReduceGradients"/>. An implementation may start reducing a group of
    /// gradients here, overlapping communication with the rest of the backward pass (PyTorch DDP's
    /// buckets); it must not change the gradient before <see cref="ReduceGradients"/>. Steps whose backward
    /// runs on the graph engine (a signature's first step, models the plan cannot compile) announce nothing:
    /// <see cref="ReduceGradients"/> then has every gradient to reduce. The default does nothing.
    /// </summary>
    void GradientReady(Tensor parameter)
    {
    }

    /// <summary>
    /// Called at the end of every epoch (training figures, then validation figures) with this replica's
    /// logs over <paramref name="samples"/> samples: returns the sample-weighted mean over the replicas,
    /// the same on every replica, so that callbacks (early stopping, checkpoints) decide alike.
    /// </summary>
    Logs ReduceLogs(Logs logs, long samples);
}
