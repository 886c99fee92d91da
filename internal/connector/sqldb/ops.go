package sqldb

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/warden-dev/warden/internal/core"
)

// Operation names. Tools are named "<resource>_<op>".
const (
	OpQuery   = "query"
	OpSchema  = "schema"
	OpExecute = "execute"
	OpDDL     = "ddl"
)

// maxSQLBytes bounds one statement's text.
const maxSQLBytes = 64 << 10

// placeholders names each driver's parameter syntax for the model.
var placeholders = map[string]string{
	"sqlite":   "?, ?NNN or :name",
	"postgres": "$1, $2, …",
	"mysql":    "?",
}

// operations lists the tools. Their key argument is the statement, kept
// whole in the audit record and quoted to an approver; a statement has no
// one target to quote in a denial (TargetArg is empty): its targets are
// the table.column pairs it touches.
func operations(resource, driver string, lim limits) []core.Operation {
	q := strconv.Quote(resource)
	schema := func(props, required string) json.RawMessage {
		s := `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{` + props + `},"required":[` + required + `],"additionalProperties":false}`
		if !json.Valid([]byte(s)) {
			panic("sqldb: invalid input schema: " + s)
		}
		return json.RawMessage(s)
	}
	sqlProp := func(what string) string {
		return `"sql":{"type":"string","minLength":1,"maxLength":` + strconv.Itoa(maxSQLBytes) + `,"description":` + strconv.Quote(what) + `},` +
			`"params":{"type":"array","maxItems":` + strconv.Itoa(maxParams) + `,"items":{"type":["string","number","boolean","null"]},"description":` +
			strconv.Quote("Values for the statement's placeholders ("+placeholders[driver]+"), in order. They are bound as parameters, never pasted into the text.") + `}`
	}
	return []core.Operation{
		{
			Name: OpQuery, Action: "query", ReadOnly: true, KeyArgs: []string{"sql"},
			Summary:     fmt.Sprintf("Run one read-only SQL SELECT on the %s database %s and get its columns and rows (at most %d rows per query unless the grant sets fewer, and %d bytes; truncated says when more were left out). Only granted tables and columns may appear anywhere in it.", driver, q, lim.rows, lim.bytes),
			InputSchema: schema(sqlProp("One SELECT statement in the "+driver+" dialect. No second statement, no transaction control, no SET."), `"sql"`),
		},
		{
			Name: OpSchema, Action: "query", ReadOnly: true,
			Summary:     fmt.Sprintf("List the tables and columns of %s that you may query, with their types.", q),
			InputSchema: schema("", ""),
		},
		{
			Name: OpExecute, Action: "execute", KeyArgs: []string{"sql"},
			Summary: fmt.Sprintf("Run one INSERT, UPDATE or DELETE on %s, on granted tables and columns only, in a transaction. With dry_run it is rolled back and only the number of rows it would change is returned.", q),
			InputSchema: schema(sqlProp("One INSERT, UPDATE or DELETE statement in the "+driver+" dialect.")+
				`,"dry_run":{"type":"boolean","default":false,"description":"Run the statement in a transaction that is rolled back, and return how many rows it would change."}`, `"sql"`),
		},
		{
			Name: OpDDL, Action: "ddl", KeyArgs: []string{"sql"},
			Summary: fmt.Sprintf("Change the tables of %s: run one CREATE TABLE, ALTER TABLE, DROP TABLE, TRUNCATE or CREATE/DROP INDEX statement, on granted tables only. %s", q, ddlNotes[driver]),
			InputSchema: schema(`"sql":{"type":"string","minLength":1,"maxLength":`+strconv.Itoa(maxSQLBytes)+`,"description":`+strconv.Quote("One DDL statement on tables in the "+driver+" dialect. No views, functions, triggers, sequences, schemas, temporary tables or CASCADE.")+`},`+
				`"dry_run":{"type":"boolean","default":false,"description":`+strconv.Quote(dryRunNotes[driver])+`}`, `"sql"`),
		},
	}
}

// ddlNotes say how each database runs DDL.
var ddlNotes = map[string]string{
	"sqlite":   "It runs in a transaction; with dry_run it is rolled back.",
	"postgres": "It runs in a transaction; with dry_run it is rolled back.",
	"mysql":    "MySQL commits DDL at once and cannot roll it back: there is no dry run.",
}

var dryRunNotes = map[string]string{
	"sqlite":   "Run the statement in a transaction that is rolled back, to check that it would succeed.",
	"postgres": "Run the statement in a transaction that is rolled back, to check that it would succeed.",
	"mysql":    "Not available: MySQL commits DDL at once, so a dry run is refused.",
}
