package sqldb

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/redact"
)

// A query computes its values, so a piece of a secret stored in a table
// (substr(api_key, 5, 4)) reaches the result without the bytes around it
// that would identify it. Every value of a result therefore loses any run
// of at least redact.PieceBytes bytes (about 40 bits' worth) that is a
// piece of one of the policy's secrets (see [redact.Redactor.Pieces]).
// This stops copying a secret out in long pieces without damaging ordinary
// values; it cannot stop shorter pieces or a query computing with it
// (comparisons, lengths, character codes), which only not granting the
// column can.

// pieceRedactor returns the redactor for query results. A DSN is a secret
// as a whole, but only its password is secret in pieces: the pieces of
// "postgres://" or a host name are ordinary text.
func pieceRedactor(secrets []core.Secret) *redact.Redactor {
	var values []string
	for _, s := range secrets {
		values = append(values, credentialPart(s.Reveal()))
	}
	return redact.New(values...)
}

// hidePieces removes pieces of secrets from every value of t.
func hidePieces(r *redact.Redactor, t *table) {
	if r.Len() == 0 {
		return
	}
	for i, c := range t.Columns {
		t.Columns[i] = r.Pieces(c)
	}
	for _, row := range t.Rows {
		for i, v := range row {
			row[i] = hideValue(r, v)
		}
	}
}

// hideValue returns v, or v as a redacted string when it held a piece of
// a secret.
func hideValue(r *redact.Redactor, v any) any {
	var s string
	switch x := v.(type) {
	case string:
		return r.Pieces(x)
	case json.Number:
		s = string(x)
	case json.RawMessage:
		s = string(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case uint64:
		s = strconv.FormatUint(x, 10)
	case blobValue:
		b, err := base64.StdEncoding.DecodeString(x.Base64)
		if err != nil {
			return v
		}
		if h := r.Pieces(string(b)); h != string(b) {
			return blob([]byte(h))
		}
		return v
	default:
		return v
	}
	if h := r.Pieces(s); h != s {
		return h
	}
	return v
}
