using Strata.Cli;

// The `strata` command: demo, train, evaluate, predict, explain, compress, summary, export, gan, generate, bench, info (see Commands.cs).
return Commands.Run(args);
