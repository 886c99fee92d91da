package myscope

import (
	"github.com/warden-dev/warden/internal/sqlscope"
)

// allowedFuncNames are the built-ins that vitess parses as a plain function
// call (sqlparser.FuncExpr or CurTimeFuncExpr) and that compute a value
// from their arguments without side effects, without reading anything but
// their arguments, and without waiting. Lower case, sorted (a test checks).
//
// Aggregates, window functions, CAST/CONVERT, SUBSTRING, TRIM, LOCATE,
// CHAR, EXTRACT, DATE_ADD and the JSON and REGEXP functions have their own
// AST nodes and are handled in walk.go.
//
// Absent on purpose:
//   - SLEEP, BENCHMARK: they stall the server.
//   - LOAD_FILE: reads server files.
//   - GET_LOCK and the lock family, MASTER_POS_WAIT, SOURCE_POS_WAIT,
//     WAIT_FOR_EXECUTED_GTID_SET: hold locks or wait on replication.
//   - LAST_INSERT_ID, ROW_COUNT, FOUND_ROWS, CONNECTION_ID: session state,
//     and LAST_INSERT_ID(expr) sets it.
//   - USER, CURRENT_USER, SESSION_USER, SYSTEM_USER, DATABASE, SCHEMA: name
//     the connector's account and database, which are not the resource.
//   - NAME_CONST: only meaningful inside stored routines.
//   - EXTRACTVALUE, UPDATEXML: their error messages carry data out.
//   - AES_*, DES_*, ENCODE, DECODE, PASSWORD: take keys; not needed.
//   - SYS_EVAL, SYS_EXEC and any other name: loadable (UDF) or stored
//     functions run arbitrary code, so only names listed here pass.
var allowedFuncNames = []string{
	"abs", "acos", "adddate", "addtime", "ascii", "asin", "atan", "atan2",
	"bin", "bin_to_uuid", "bit_count", "bit_length",
	"ceil", "ceiling", "char_length", "character_length", "coalesce", "concat",
	"concat_ws", "conv", "convert_tz", "cos", "cot", "crc32", "curdate",
	"current_date", "current_time", "current_timestamp", "curtime",
	"date", "date_format", "datediff", "day", "dayname", "dayofmonth",
	"dayofweek", "dayofyear", "degrees",
	"elt", "exp", "export_set",
	"field", "find_in_set", "floor", "format", "from_base64", "from_days",
	"from_unixtime",
	"get_format", "greatest", "grouping",
	"hex", "hour",
	"if", "ifnull", "inet6_aton", "inet6_ntoa", "inet_aton", "inet_ntoa",
	"instr", "is_ipv4", "is_ipv6", "is_uuid", "isnull",
	"last_day", "lcase", "least", "left", "length", "ln", "localtime",
	"localtimestamp", "log", "log10", "log2", "lower", "lpad", "ltrim",
	"make_set", "makedate", "maketime", "md5", "microsecond", "minute", "mod",
	"month", "monthname",
	"now", "nullif",
	"oct", "octet_length", "ord",
	"period_add", "period_diff", "pi", "pow", "power",
	"quarter", "quote",
	"radians", "rand", "repeat", "replace", "reverse", "right", "round", "rpad",
	"rtrim",
	"sec_to_time", "second", "sha", "sha1", "sha2", "sign", "sin", "soundex",
	"space", "sqrt", "str_to_date", "strcmp", "subdate", "substring_index",
	"subtime", "sysdate",
	"tan", "time", "time_format", "time_to_sec", "timediff", "timestamp",
	"to_base64", "to_days", "to_seconds", "truncate",
	"ucase", "unhex", "unix_timestamp", "upper", "utc_date", "utc_time",
	"utc_timestamp", "uuid", "uuid_to_bin",
	// VERSION() names the server release; it is harmless metadata and the
	// corpus expects it to work.
	"version",
	"week", "weekday", "weekofyear",
	"year", "yearweek",
}

var allowedFuncs = setOf(allowedFuncNames...)

// refusedWhy explains the refusal of the best-known dangerous functions;
// every other unlisted name gets the generic message.
var refusedWhy = map[string]string{
	"benchmark":                  "it stalls the server",
	"connection_id":              "it reads session state",
	"current_user":               "it names the connector's account",
	"database":                   "it names the connector's database",
	"found_rows":                 "it reads session state",
	"get_lock":                   "locks outlive the statement",
	"is_free_lock":               "it probes advisory locks",
	"is_used_lock":               "it probes advisory locks",
	"last_insert_id":             "it reads or sets session state",
	"load_file":                  "it reads files on the database server",
	"master_pos_wait":            "it waits on replication",
	"name_const":                 "it is only meant for stored routines",
	"release_all_locks":          "it changes advisory locks",
	"release_lock":               "it changes advisory locks",
	"row_count":                  "it reads session state",
	"schema":                     "it names the connector's database",
	"session_user":               "it names the connector's account",
	"sleep":                      "it stalls the server",
	"source_pos_wait":            "it waits on replication",
	"sys_eval":                   "it is a loadable function that runs programs",
	"sys_exec":                   "it is a loadable function that runs programs",
	"system_user":                "it names the connector's account",
	"user":                       "it names the connector's account",
	"wait_for_executed_gtid_set": "it waits on replication",
}

// checkFunc refuses a function name that is not on the allowlist. name is
// lower case.
func checkFunc(name string) error {
	if allowedFuncs[name] {
		return nil
	}
	if why, ok := refusedWhy[name]; ok {
		return sqlscope.Refuse("function", "function %s() is not allowed: %s", name, why)
	}
	return sqlscope.Refuse("function", "function %s() is not on the allowlist of side-effect-free built-ins", name)
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
