package sandboxed

// ShellQuote is shellQuote, for the fuzz target.
var ShellQuote = shellQuote
