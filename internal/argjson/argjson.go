// Package argjson holds what every layer that decodes a tool call's JSON
// arguments checks alike. encoding/json keeps the last of a repeated key,
// and another parser may keep the first: a parser differential between
// validation and use is a classic bypass, so repeated keys are refused.
package argjson

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// CheckDuplicateKeys refuses any object with a repeated key, at any depth.
// It must only be given JSON that encoding/json decoded without error, so
// it only tracks structure: it scans bytes rather than tokens because it
// runs on every call, at every layer that decodes the arguments.
func CheckDuplicateKeys(raw []byte) error {
	_, err := scanKeys(raw, false)
	return err
}

// Keys returns the keys of the outermost object in raw, in order, after
// refusing a repeated key in any object, as [CheckDuplicateKeys] does.
// Escaped spellings are decoded: "\u0070ath" is the key path. Like
// CheckDuplicateKeys, it must only be given JSON that decoded.
func Keys(raw []byte) ([]string, error) {
	return scanKeys(raw, true)
}

// scanKeys is CheckDuplicateKeys, returning the outermost object's keys
// if outer is set. The keys of the open objects are one list of slices of
// raw (decoded only when escaped), each object's a tail of it, so a call
// without escaped keys allocates nothing unless it nests deeply.
func scanKeys(raw []byte, outer bool) ([]string, error) {
	var keysBuf [32][]byte
	var stackBuf [16]int
	keys := keysBuf[:0]   // the keys of every open object, outermost first
	stack := stackBuf[:0] // per open value: where its keys start in keys, or -1 for an array
	var top []string
	expectKey := false
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{':
			stack = append(stack, len(keys))
			expectKey = true
		case '[':
			stack = append(stack, -1)
			expectKey = false
		case '}', ']':
			if len(stack) == 0 {
				return nil, nil // not JSON that decoded
			}
			if from := stack[len(stack)-1]; from >= 0 {
				if outer && len(stack) == 1 && top == nil {
					top = make([]string, 0, len(keys)-from)
					for _, k := range keys[from:] {
						top = append(top, string(k))
					}
				}
				keys = keys[:from]
			}
			stack = stack[:len(stack)-1]
			expectKey = false
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1] >= 0
		case '"':
			j, escaped := i+1, false
			for ; j < len(raw) && raw[j] != '"'; j++ {
				if raw[j] == '\\' {
					escaped = true
					j++
				}
			}
			if expectKey && j < len(raw) {
				key := raw[i+1 : j]
				if escaped {
					// Spellings such as "\u0070ath" are the same key.
					var s string
					if err := json.Unmarshal(raw[i:j+1], &s); err != nil {
						return nil, fmt.Errorf("malformed JSON: %v", err)
					}
					key = []byte(s)
				}
				for _, k := range keys[stack[len(stack)-1]:] {
					if bytes.Equal(k, key) {
						return nil, fmt.Errorf("the key %q appears twice", key)
					}
				}
				keys = append(keys, key)
				expectKey = false
			}
			i = j
		}
	}
	if outer && top == nil && len(stack) == 0 {
		// An empty outermost object, or none.
		return nil, nil
	}
	return top, nil
}
