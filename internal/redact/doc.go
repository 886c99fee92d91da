// Package redact removes known secret values from text before it is logged
// or stored.
//
// Redaction is by value: a [Redactor] is built from the secrets Warden
// loaded (database passwords, API tokens) and replaces every occurrence of
// each value with [Marker]. Secrets rarely appear only in raw form, so every
// value is also searched for in the encodings it is likely to be logged in:
//
//   - raw bytes;
//   - the inside of a JSON string, as encoding/json writes it with and
//     without HTML escaping, with "/" escaped as "\/", and with all
//     non-ASCII escaped as \uXXXX (as Python's json module does);
//   - standard and URL-safe base64, with and without padding;
//   - base64 of the value embedded in a longer string at any byte
//     alignment: the whole 3-byte groups of the value encode the same
//     whatever surrounds them, so those characters are matched (when they
//     cover at least 6 bytes); up to two characters at each end, which mix
//     in the neighbouring bytes, may remain;
//   - percent-encoding (url.QueryEscape and url.PathEscape), with upper- or
//     lower-case hex digits;
//   - lower- and upper-case hex.
//
// Composite encodings are not derived automatically. The base64 core match
// catches most of an HTTP basic-auth header built from "user:pass", but to
// remove it completely register the composite ("user:pass") as a value of
// its own; likewise for any other encoding of a combination of values.
//
// All occurrences of all forms are found in the original input, overlapping
// matches are merged, and each merged span becomes one [Marker]. Overlapping
// secrets therefore never leave fragments, whatever order they were given
// in. Text between two markers never contains a registered form.
//
// Very short values cause over-redaction: a 2-byte secret matches all over
// ordinary text (and its hex and base64 forms match more still). Values are
// not length-checked, because refusing a short secret would leak it; keep
// secrets long. A secret that shares characters with [Marker] can appear to
// reappear across a marker boundary ("D]x" next to "[REDACTED]x"); that
// adjacency carries no information about the secret.
//
// Redacting a whole text is not enough when a caller shows only part of
// it: eight reads of four bytes each are each free of any whole secret.
// [Redactor.Window] redacts a window with the bytes around it in view
// ([Redactor.Margin] on each side), so every byte of the window that
// belongs to a secret goes, however the window cuts it.
// [Redactor.MaskReader] and [Redactor.Mask] replace each byte of a secret
// byte for byte, for searching: a search run on masked text answers for
// a secret, or any piece of it, exactly as for text that is absent. A
// value computed from a secret without its surroundings (a database's
// substr) cannot be recognised from context; [Redactor.Pieces] removes
// every run of a secret long enough ([PieceBytes]) not to occur in
// ordinary data by chance.
//
// A Redactor is immutable once built and safe for concurrent use. The nil
// *Redactor is valid and redacts nothing.
package redact
