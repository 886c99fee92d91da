package argjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// An Error says what is wrong with a call's arguments in one sentence a
// model can act on.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Decode fills dst, a pointer to a struct, with a tool call's arguments.
// values are the arguments as the pipeline already decoded and checked
// them (no repeated key, within the size and depth bounds, valid against
// the tool's schema); when values is nil (a connector called directly),
// raw is decoded first, refusing repeated keys as the pipeline does.
//
// Every kind decodes its arguments here, so one rule holds for all: a key
// is an argument only when spelled exactly as a field's json tag, any other
// key is refused, and a value must have the field's type. A JSON null
// leaves the field at its zero value. No second parse of the JSON happens
// on the pipeline's path: a write's content is decoded once.
func Decode(raw []byte, values map[string]any, dst any) error {
	if values == nil {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			raw = []byte("{}")
		}
		if raw[0] != '{' {
			return &Error{"The arguments must be a JSON object."}
		}
		if err := json.Unmarshal(raw, &values); err != nil {
			return &Error{"The arguments are not valid JSON."}
		}
		if err := CheckDuplicateKeys(raw); err != nil {
			return &Error{"The arguments are not valid: " + err.Error() + "."}
		}
	}
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic("argjson.Decode: dst must be a pointer to a struct")
	}
	return fillStruct(v.Elem(), values, "")
}

// fields maps a struct type's json tag names to field indexes.
var fields sync.Map // reflect.Type → *structFields

type structFields struct {
	index map[string]int
	names []string // sorted, for messages
}

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fields.Load(t); ok {
		return f.(*structFields)
	}
	sf := &structFields{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		sf.index[name] = i
		sf.names = append(sf.names, name)
	}
	slices.Sort(sf.names)
	fields.Store(t, sf)
	return sf
}

func fillStruct(v reflect.Value, values map[string]any, at string) error {
	sf := fieldsOf(v.Type())
	for key, val := range values {
		i, ok := sf.index[key]
		if !ok {
			return &Error{fmt.Sprintf("Unknown argument %s; %s accepts %s.", quote(at+key), where(at), quoteList(at, sf.names))}
		}
		if err := fill(v.Field(i), val, at+key); err != nil {
			return err
		}
	}
	return nil
}

var rawMessage = reflect.TypeOf(json.RawMessage(nil))

// fill sets v from one decoded JSON value.
func fill(v reflect.Value, val any, at string) error {
	if val == nil {
		return nil // JSON null: the zero value
	}
	if v.Type() == rawMessage {
		b, err := json.Marshal(val)
		if err != nil {
			return &Error{fmt.Sprintf("The argument %s cannot be read.", quote(at))}
		}
		v.SetBytes(b)
		return nil
	}
	wrong := func(want string) error {
		return &Error{fmt.Sprintf("The argument %s must be %s, not %s.", quote(at), want, describe(val))}
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := fill(p.Elem(), val, at); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Interface:
		v.Set(reflect.ValueOf(val))
	case reflect.String:
		s, ok := val.(string)
		if !ok {
			return wrong("a string")
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			return wrong("true or false")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, ok := val.(float64)
		if !ok || f != math.Trunc(f) || f < -(1<<53) || f > 1<<53 {
			return wrong("a whole number")
		}
		if v.OverflowInt(int64(f)) {
			return &Error{fmt.Sprintf("The argument %s is out of range.", quote(at))}
		}
		v.SetInt(int64(f))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f, ok := val.(float64)
		if !ok || f != math.Trunc(f) || f < 0 || f > 1<<53 {
			return wrong("a whole number of 0 or more")
		}
		if v.OverflowUint(uint64(f)) {
			return &Error{fmt.Sprintf("The argument %s is out of range.", quote(at))}
		}
		v.SetUint(uint64(f))
	case reflect.Float32, reflect.Float64:
		f, ok := val.(float64)
		if !ok {
			return wrong("a number")
		}
		v.SetFloat(f)
	case reflect.Slice:
		list, ok := val.([]any)
		if !ok {
			return wrong("a list")
		}
		s := reflect.MakeSlice(v.Type(), len(list), len(list))
		for i, e := range list {
			if err := fill(s.Index(i), e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Map:
		m, ok := val.(map[string]any)
		if !ok || v.Type().Key().Kind() != reflect.String {
			return wrong("an object")
		}
		out := reflect.MakeMapWithSize(v.Type(), len(m))
		for k, e := range m {
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := fill(ev, e, at+"."+k); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), ev)
		}
		v.Set(out)
	case reflect.Struct:
		m, ok := val.(map[string]any)
		if !ok {
			return wrong("an object")
		}
		return fillStruct(v, m, at+".")
	default:
		panic("argjson: cannot decode into a field of kind " + v.Kind().String())
	}
	return nil
}

// describe names a decoded JSON value's type for messages.
func describe(val any) string {
	switch val.(type) {
	case string:
		return "a string"
	case bool:
		return "true or false"
	case float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "null"
}

func where(at string) string {
	if at == "" {
		return "this tool"
	}
	return quote(strings.TrimSuffix(at, "."))
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func quoteList(at string, names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(at + n)
	}
	return strings.Join(q, ", ")
}
