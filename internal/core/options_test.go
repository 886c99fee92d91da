package core

import "testing"

func TestGrantOptions(t *testing.T) {
	var zero GrantOptions
	rec := zero.WithFlag("recursive")
	rows := zero.WithCap("max_rows", 500)
	if !zero.IsZero() || rec.IsZero() || zero.Has("recursive") || !rec.Has("recursive") {
		t.Fatalf("flags: zero %+v, rec %+v", zero, rec)
	}
	if zero.Has("recursive") {
		t.Error("WithFlag changed its receiver")
	}
	// Union: a flag any grant holds; a cap only where every grant caps.
	if u := rec.Union(rows); !u.Has("recursive") || u.Cap("max_rows") != 0 {
		t.Errorf("rec ∪ rows = %+v, want recursive and no cap", u)
	}
	if u := rows.Union(zero.WithCap("max_rows", 800)); u.Cap("max_rows") != 800 {
		t.Errorf("500 ∪ 800 = %d, want 800", u.Cap("max_rows"))
	}
	// Intersect: the flags every target's grant holds; the smallest cap.
	if i := rec.Intersect(rows); i.Has("recursive") || i.Cap("max_rows") != 500 {
		t.Errorf("rec ∩ rows = %+v, want no flag and cap 500", i)
	}
	if i := rows.Intersect(zero.WithCap("max_rows", 100)); i.Cap("max_rows") != 100 {
		t.Errorf("500 ∩ 100 = %d, want 100", i.Cap("max_rows"))
	}
	if rows.Cap("max_rows") != 500 {
		t.Error("Intersect changed its receiver")
	}
}
