namespace Strata.Autograd;

/// <summary>
/// One recorded op in the graph: its inputs and the closure that turns the gradient of its output
/// into gradient contributions that it accumulates into those inputs.
/// </summary>
internal sealed class GradNode(string op, Tensor[] inputs, Action<Tensor> backward)
{
    public string Op { get; } = op;

    public Tensor[] Inputs { get; private set; } = inputs;

    public Action<Tensor>? Backward { get; private set; } = backward;

    public bool Released => Backward is null;

    /// <summary>Drops the references that keep the graph alive.</summary>
    public void Release()
    {
        Inputs = [];
        Backward = null;
    }
}
