package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Patterns of github.com/google/jsonschema-go's validation errors, turned
// into sentences a model can act on.
var (
	reProperty   = regexp.MustCompile(`^validating /properties/([^:]+): (.*)$`)
	reRequired   = regexp.MustCompile(`^required: missing properties: \[(.*)\]$`)
	reAdditional = regexp.MustCompile(`^unexpected additional properties \[(.*)\]$`)
	reType       = regexp.MustCompile(`^type: .* has type "([a-z]+)", want "([a-z]+)"$`)
	reMinimum    = regexp.MustCompile(`^minimum: .* is less than ([-0-9.e+]+)$`)
	reMaximum    = regexp.MustCompile(`^maximum: .* is greater than ([-0-9.e+]+)$`)
	reMinLength  = regexp.MustCompile(`^minLength: .* fewer than ([0-9]+)$`)
	reMaxLength  = regexp.MustCompile(`^maxLength: .* more than ([0-9]+)$`)
)

// schemaMessage explains why arguments failed a tool's schema in one
// sentence, naming the argument and what it must be.
func schemaMessage(t *Tool, err error) string {
	detail := strings.TrimSuffix(strings.TrimPrefix(err.Error(), "validating root: "), ".")
	arg := ""
	if m := reProperty.FindStringSubmatch(detail); m != nil {
		arg, detail = m[1], m[2]
	}
	var why string
	switch m := []string(nil); {
	case matchInto(&m, reRequired, detail):
		why = "missing the required argument " + strings.ReplaceAll(m[1], `","`, `", "`)
	case matchInto(&m, reAdditional, detail):
		why = fmt.Sprintf("unknown argument %s; %s accepts %s", strings.ReplaceAll(m[1], `","`, `", "`), t.Name, strings.Join(t.argNames(), ", "))
	case arg != "" && matchInto(&m, reType, detail):
		why = fmt.Sprintf("the argument %q must be %s, not %s", arg, article(m[2]), article(m[1]))
	case arg != "" && matchInto(&m, reMinimum, detail):
		why = fmt.Sprintf("the argument %q must be at least %s", arg, number(m[1]))
	case arg != "" && matchInto(&m, reMaximum, detail):
		why = fmt.Sprintf("the argument %q must be at most %s", arg, number(m[1]))
	case arg != "" && matchInto(&m, reMinLength, detail):
		if m[1] == "1" {
			why = fmt.Sprintf("the argument %q must not be empty", arg)
		} else {
			why = fmt.Sprintf("the argument %q must be at least %s characters long", arg, m[1])
		}
	case arg != "" && matchInto(&m, reMaxLength, detail):
		why = fmt.Sprintf("the argument %q must be at most %s characters long", arg, m[1])
	case arg != "":
		why = fmt.Sprintf("the argument %q: %s", arg, detail)
	default:
		why = detail
	}
	return fmt.Sprintf("The arguments do not fit %s: %s. See the tool's input schema.", t.Name, why)
}

func matchInto(m *[]string, re *regexp.Regexp, s string) bool {
	*m = re.FindStringSubmatch(s)
	return *m != nil
}

func article(jsonType string) string {
	switch jsonType {
	case "integer", "object", "array":
		return "an " + jsonType
	case "null":
		return "null"
	}
	return "a " + jsonType
}

// number prints a schema bound without the validator's trailing zeros.
func number(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
