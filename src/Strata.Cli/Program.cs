using Strata.Cli;

// The `strata` command: demo, train, evaluate, predict, summary, export, bench (see Commands.cs).
return Commands.Run(args);
