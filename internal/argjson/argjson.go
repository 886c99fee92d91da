// Package argjson holds what every layer that decodes a tool call's JSON
// arguments checks alike. encoding/json keeps the last of a repeated key,
// and another parser may keep the first: a parser differential between
// validation and use is a classic bypass, so repeated keys are refused.
package argjson

import (
	"encoding/json"
	"fmt"
)

// CheckDuplicateKeys refuses any object with a repeated key, at any depth.
// It must only be given JSON that encoding/json decoded without error, so
// it only tracks structure: it scans bytes rather than tokens because it
// runs on every call, at every layer that decodes the arguments.
func CheckDuplicateKeys(raw []byte) error {
	_, err := Keys(raw)
	return err
}

// Keys returns the keys of the outermost object in raw, in order, after
// refusing a repeated key in any object, as [CheckDuplicateKeys] does.
// Escaped spellings are decoded: "\u0070ath" is the key path. Like
// CheckDuplicateKeys, it must only be given JSON that decoded.
func Keys(raw []byte) ([]string, error) {
	type object struct{ keys []string }
	var stack []*object // nil entries are arrays
	var outer *object
	expectKey := false
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{':
			stack = append(stack, &object{})
			if outer == nil {
				outer = stack[0]
			}
			expectKey = true
		case '[':
			stack = append(stack, nil)
			expectKey = false
		case '}', ']':
			stack = stack[:len(stack)-1]
			expectKey = false
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1] != nil
		case '"':
			j, escaped := i+1, false
			for ; j < len(raw) && raw[j] != '"'; j++ {
				if raw[j] == '\\' {
					escaped = true
					j++
				}
			}
			if expectKey {
				key := string(raw[i+1 : j])
				if escaped {
					// Spellings such as "\u0070ath" are the same key.
					if err := json.Unmarshal(raw[i:j+1], &key); err != nil {
						return nil, fmt.Errorf("malformed JSON: %v", err)
					}
				}
				top := stack[len(stack)-1]
				for _, k := range top.keys {
					if k == key {
						return nil, fmt.Errorf("the key %q appears twice", key)
					}
				}
				top.keys = append(top.keys, key)
				expectKey = false
			}
			i = j
		}
	}
	if outer == nil {
		return nil, nil
	}
	return outer.keys, nil
}
