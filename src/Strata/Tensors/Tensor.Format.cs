using System.Globalization;
using System.Text;

namespace Strata;

public sealed partial class Tensor
{
    private const int EdgeItems = 3;

    /// <summary>
    /// "Tensor [2, 3]" followed by the values as nested brackets; long axes show their first and
    /// last three entries around "...".
    /// </summary>
    public override string ToString()
    {
        var sb = new StringBuilder("Tensor ");
        if (Name is not null)
            sb.Append('\'').Append(Name).Append("' ");
        sb.Append(Shape);
        if (RequiresGrad)
            sb.Append(Node is null ? " (requires grad)" : $" (grad fn: {Node.Op})");
        sb.Append('\n');
        if (Rank == 0)
            sb.Append(Format(_data[_start]));
        else
            AppendAxis(sb, 0, 0, 1);
        return sb.ToString();
    }

    private void AppendAxis(StringBuilder sb, int axis, int offset, int indent)
    {
        int n = Shape.Dims[axis];
        int stride = 1;
        for (int i = axis + 1; i < Rank; i++)
            stride *= Shape.Dims[i];
        sb.Append('[');
        for (int i = 0; i < n; i++)
        {
            if (n > 2 * EdgeItems && i == EdgeItems)
            {
                sb.Append(axis == Rank - 1 ? "..., " : "...,\n" + new string(' ', indent));
                i = n - EdgeItems;
            }
            if (axis == Rank - 1)
                sb.Append(Format(_data[_start + offset + i]));
            else
                AppendAxis(sb, axis + 1, offset + i * stride, indent + 1);
            if (i < n - 1)
                sb.Append(axis == Rank - 1 ? ", " : ",\n" + new string(' ', indent));
        }
        sb.Append(']');
    }

    private static string Format(float v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
