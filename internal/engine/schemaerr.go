package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Patterns of github.com/google/jsonschema-go's validation errors, turned
// into sentences a model can act on. Compiled on the first refusal, not at
// every start of the process.
var schemaPatterns = sync.OnceValue(func() *schemaREs {
	return &schemaREs{
		property:   regexp.MustCompile(`^validating /properties/([^:]+): (.*)$`),
		required:   regexp.MustCompile(`^required: missing properties: \[(.*)\]$`),
		additional: regexp.MustCompile(`^unexpected additional properties \[(.*)\]$`),
		typ:        regexp.MustCompile(`^type: .* has type "([a-z]+)", want "([a-z]+)"$`),
		minimum:    regexp.MustCompile(`^minimum: .* is less than ([-0-9.e+]+)$`),
		maximum:    regexp.MustCompile(`^maximum: .* is greater than ([-0-9.e+]+)$`),
		minLength:  regexp.MustCompile(`^minLength: .* fewer than ([0-9]+)$`),
		maxLength:  regexp.MustCompile(`^maxLength: .* more than ([0-9]+)$`),
	}
})

type schemaREs struct {
	property, required, additional, typ, minimum, maximum, minLength, maxLength *regexp.Regexp
}

// schemaMessage explains why arguments failed a tool's schema in one
// sentence, naming the argument and what it must be.
func schemaMessage(t *Tool, err error) string {
	detail := strings.TrimSuffix(strings.TrimPrefix(err.Error(), "validating root: "), ".")
	re := schemaPatterns()
	arg := ""
	if m := re.property.FindStringSubmatch(detail); m != nil {
		arg, detail = m[1], m[2]
	}
	var why string
	switch m := []string(nil); {
	case matchInto(&m, re.required, detail):
		why = "missing the required argument " + strings.ReplaceAll(m[1], `","`, `", "`)
	case matchInto(&m, re.additional, detail):
		why = fmt.Sprintf("unknown argument %s; %s accepts %s", strings.ReplaceAll(m[1], `","`, `", "`), t.Name, strings.Join(t.argNames(), ", "))
	case arg != "" && matchInto(&m, re.typ, detail):
		why = fmt.Sprintf("the argument %q must be %s, not %s", arg, article(m[2]), article(m[1]))
	case arg != "" && matchInto(&m, re.minimum, detail):
		why = fmt.Sprintf("the argument %q must be at least %s", arg, number(m[1]))
	case arg != "" && matchInto(&m, re.maximum, detail):
		why = fmt.Sprintf("the argument %q must be at most %s", arg, number(m[1]))
	case arg != "" && matchInto(&m, re.minLength, detail):
		if m[1] == "1" {
			why = fmt.Sprintf("the argument %q must not be empty", arg)
		} else {
			why = fmt.Sprintf("the argument %q must be at least %s characters long", arg, m[1])
		}
	case arg != "" && matchInto(&m, re.maxLength, detail):
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
