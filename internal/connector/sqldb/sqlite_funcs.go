package sqldb

// sqliteFuncs are the SQLite functions a statement may call: pure
// functions of their arguments and the clock. Absent on purpose:
// load_extension (native code), readfile/writefile/edit (files),
// fts3_tokenizer (pointers), sqlite_compileoption_*, sqlite_offset and
// anything an application or extension registers.
var sqliteFuncs = set(
	// core scalar
	"abs", "char", "coalesce", "concat", "concat_ws", "format", "glob", "hex", "ifnull", "iif",
	"instr", "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min", "nullif",
	"octet_length", "printf", "quote", "random", "randomblob", "replace", "round", "rtrim", "sign",
	"soundex", "substr", "substring", "trim", "typeof", "unhex", "unicode", "unlikely", "upper",
	"zeroblob", "sqlite_version",
	// aggregate
	"avg", "count", "group_concat", "string_agg", "sum", "total",
	// window
	"row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
	"first_value", "last_value", "nth_value",
	// date and time
	"date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff",
	"current_date", "current_time", "current_timestamp",
	// math
	"acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh",
	"degrees", "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power",
	"radians", "sin", "sinh", "sqrt", "tan", "tanh", "trunc",
	// json
	"json", "jsonb", "json_array", "jsonb_array", "json_array_length", "json_extract", "jsonb_extract",
	"json_insert", "jsonb_insert", "json_object", "jsonb_object", "json_patch", "jsonb_patch",
	"json_remove", "jsonb_remove", "json_replace", "jsonb_replace", "json_set", "jsonb_set",
	"json_type", "json_valid", "json_quote", "json_group_array", "jsonb_group_array",
	"json_group_object", "jsonb_group_object", "json_pretty", "json_error_position",
	"->", "->>",
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// sqliteTablePragmas describe one table, named as their argument.
var sqliteTablePragmas = set("table_info", "table_xinfo", "index_list", "foreign_key_list")

// sqliteValuePragmas are read without an argument; with one they would set.
var sqliteValuePragmas = set("user_version", "application_id", "journal_mode", "encoding", "page_size",
	"page_count", "schema_version", "data_version", "freelist_count", "query_only", "foreign_keys")
