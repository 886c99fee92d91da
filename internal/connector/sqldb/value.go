package sqldb

import (
	"encoding/base64"
	"math"
	"slices"
)

// blobValue is how binary data appears in a result: JSON has no bytes.
type blobValue struct {
	Base64 string `json:"base64"`
}

func blob(b []byte) blobValue { return blobValue{Base64: base64.StdEncoding.EncodeToString(b)} }

// jsonFloat keeps NaN and infinities, which JSON cannot carry as numbers,
// as strings.
func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

func sortStrings(s []string) { slices.Sort(s) }
