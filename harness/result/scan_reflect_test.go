package result

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// randomFill sets every field reachable from v (structs, pointers, slices,
// maps, strings, numbers, bools) to a random non-zero value, so a field the
// hand-written scanner does not know shows up as a difference.
func randomFill(t *testing.T, rng *rand.Rand, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				randomFill(t, rng, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		randomFill(t, rng, v.Elem(), path)
	case reflect.Slice:
		n := 1 + rng.IntN(4)
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			randomFill(t, rng, v.Index(i), path+"[]")
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 1 + rng.IntN(4) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			randomFill(t, rng, k, path+"{key}")
			randomFill(t, rng, e, path+"{}")
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		v.SetString(randomString(rng))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(1 + rng.Int64N(1<<40))
	case reflect.Float64:
		v.SetFloat(rng.NormFloat64() * float64(rng.IntN(1e6)+1))
	case reflect.Bool:
		v.SetBool(true) // false is the zero value: omitempty would drop it
	default:
		t.Fatalf("%s: kind %s has no random filler: teach randomFill (and check the scanner decodes it)", path, v.Kind())
	}
}

// randomString mixes plain text, JSON escapes and multi-byte runes.
func randomString(rng *rand.Rand) string {
	pieces := []string{"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u00e9", "\u6f22", "\U0001F600", "\x01", "<", "&", "\u2028"}
	var b strings.Builder
	for range 1 + rng.IntN(12) {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}

// TestScanDecodesEveryFieldOfResult fills every field of Result with
// random values, encodes it with encoding/json and checks the scanner
// decodes each field equal: a field added to Result but not to the
// scanner fails here by name.
func TestScanDecodesEveryFieldOfResult(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		var want Result
		randomFill(t, rng, reflect.ValueOf(&want).Elem(), "Result")
		line, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var got []Result
		err = Scan(bytes.NewReader(append(line, '\n')), func(r *Result) error {
			// The scanner reuses r: keep a deep copy through encoding/json.
			data, _ := json.Marshal(r)
			var kept Result
			if err := json.Unmarshal(data, &kept); err != nil {
				return err
			}
			got = append(got, kept)
			return nil
		})
		if err != nil {
			t.Fatalf("case %d: scan: %v\n%s", i, err, line)
		}
		if len(got) != 1 {
			t.Fatalf("case %d: scanned %d results from one line", i, len(got))
		}
		wv, gv := reflect.ValueOf(want), reflect.ValueOf(got[0])
		for f := range wv.NumField() {
			if !reflect.DeepEqual(wv.Field(f).Interface(), gv.Field(f).Interface()) {
				t.Errorf("case %d: field %s: scanner decoded %#v, encoding/json wrote %#v", i, wv.Type().Field(f).Name, gv.Field(f).Interface(), wv.Field(f).Interface())
			}
		}
		if t.Failed() {
			t.Fatalf("line: %s", line)
		}
	}
}
