package myscope

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestServerRandom generates SELECTs that stress name resolution (aliases
// that shadow tables, CTEs named like tables, derived tables that rename
// secret columns, USING and NATURAL joins, correlated subqueries, alias
// against column in GROUP BY, HAVING and ORDER BY) and runs every one the
// analyzer accepts within the corpus grants on MariaDB as the reader whose
// column privileges are those grants. A privilege error is a column the
// analysis missed. $MYSCOPE_RANDOM sets the count (default 1500) and
// $MYSCOPE_SEED the seed.
func TestServerRandom(t *testing.T) {
	pool := readerConn(t)
	n := 1500
	if v, err := strconv.Atoi(os.Getenv("MYSCOPE_RANDOM")); err == nil {
		n = v
	}
	seed := uint64(1)
	if v, err := strconv.ParseUint(os.Getenv("MYSCOPE_SEED"), 10, 64); err == nil {
		seed = v
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, 2))}
	a := New()
	accepted, ran := 0, 0
	for range n {
		q := g.query(0)
		if refused, _ := corpusVerdict(a, q); refused {
			continue
		}
		accepted++
		err := runReadOnly(pool, q)
		if privilegeError(err) && !unknownTableCase(err) {
			an, _ := a.Analyze(q, fixtureSchema())
			t.Errorf("server denied %q (%v), but the analysis is within the grants: %+v", q, err, an)
		}
		if err == nil {
			ran++
		}
	}
	t.Logf("%d generated, %d accepted within the grants, %d ran without error", n, accepted, ran)
}

// gen builds random SELECT statements over the corpus schema.
type gen struct {
	r     *rand.Rand
	ctes  []string // CTE names in scope
	alias int
}

// Mostly granted names, so that many statements pass the analysis; the
// secret ones appear mostly as aliases and CTE or derived column names,
// where a resolution mistake would read the real column.
var (
	genTables  = []string{"orders", "orders", "orders", "customers", "customers", "customers", "secrets"}
	genColumns = []string{"id", "id", "customer_id", "total", "created_at", "country", "country", "x", "n", "token", "email"}
)

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) query(depth int) string {
	var b strings.Builder
	saved := len(g.ctes)
	defer func() { g.ctes = g.ctes[:saved] }()
	if depth < 2 && g.r.IntN(4) == 0 {
		name := g.pick([]string{"orders", "customers", "secrets", "c1", "c2"})
		fmt.Fprintf(&b, "WITH %s AS (%s) ", name, g.selectList(depth+1, true))
		g.ctes = append(g.ctes, name)
	}
	b.WriteString(g.selectList(depth, false))
	if depth == 0 && g.r.IntN(6) == 0 {
		b.WriteString(" UNION " + g.selectList(depth+1, false))
	}
	return b.String()
}

func (g *gen) selectList(depth int, named bool) string {
	from, aliases := g.from(depth)
	var items []string
	for i := range 1 + g.r.IntN(3) {
		e := g.expr(depth, aliases)
		if named || g.r.IntN(2) == 0 {
			e += " AS " + g.pick([]string{"id", "x", "n", "token", "country", "total"}[i:])
		}
		items = append(items, e)
	}
	if g.r.IntN(8) == 0 {
		items = append(items, g.pick(append(aliases, ""))+"*")
		if items[len(items)-1] != "*" {
			items[len(items)-1] = strings.Replace(items[len(items)-1], "*", ".*", 1)
		}
	}
	q := "SELECT " + strings.Join(items, ", ") + " FROM " + from
	if g.r.IntN(2) == 0 {
		q += " WHERE " + g.cond(depth, aliases)
	}
	if g.r.IntN(4) == 0 {
		q += " GROUP BY " + g.pick([]string{"1", "x", "id", "n", "country", "token"})
		if g.r.IntN(2) == 0 {
			q += " HAVING " + g.pick([]string{"n", "x", "COUNT(*)", "id", "token"}) + " IS NOT NULL"
		}
	}
	if g.r.IntN(3) == 0 {
		q += " ORDER BY " + g.pick([]string{"1", "x", "id", "n", "total", "token", "email"})
	}
	return q
}

func (g *gen) from(depth int) (string, []string) {
	var parts, aliases []string
	k := 1 + g.r.IntN(2)
	for i := range k {
		src, al := g.source(depth)
		aliases = append(aliases, al)
		if i == 0 {
			parts = append(parts, src)
			continue
		}
		switch g.r.IntN(5) {
		case 0:
			parts = append(parts, ", "+src)
		case 1:
			parts = append(parts, " JOIN "+src+" USING ("+g.pick([]string{"id", "country", "token"})+")")
		case 2:
			parts = append(parts, " NATURAL JOIN "+src)
		case 3:
			parts = append(parts, " LEFT JOIN "+src+" ON "+g.cond(depth, aliases))
		default:
			parts = append(parts, " JOIN "+src+" ON "+g.cond(depth, aliases))
		}
	}
	return strings.Join(parts, ""), aliases
}

func (g *gen) source(depth int) (string, string) {
	g.alias++
	al := g.pick([]string{"o", "c", "s", "d", "orders", "customers", "secrets"}) + strconv.Itoa(g.alias%3)
	if g.r.IntN(3) == 0 {
		al = ""
	}
	switch {
	case depth < 2 && g.r.IntN(4) == 0:
		d := "d" + strconv.Itoa(g.alias)
		return "(" + g.selectList(depth+1, true) + ") " + d, d
	case len(g.ctes) > 0 && g.r.IntN(3) == 0:
		name := g.pick(g.ctes)
		if al == "" {
			return name, name
		}
		return name + " " + al, al
	}
	tbl := g.pick(genTables)
	if al == "" {
		return tbl, tbl
	}
	return tbl + " " + al, al
}

func (g *gen) col(aliases []string) string {
	c := g.pick(genColumns)
	if len(aliases) > 0 && g.r.IntN(2) == 0 {
		return g.pick(aliases) + "." + c
	}
	return c
}

func (g *gen) expr(depth int, aliases []string) string {
	switch g.r.IntN(7) {
	case 0:
		return strconv.Itoa(g.r.IntN(10))
	case 1:
		return "COUNT(*)"
	case 2:
		return "MAX(" + g.col(aliases) + ")"
	case 3:
		if depth < 2 {
			return "(" + g.query(depth+1) + " LIMIT 1)"
		}
		fallthrough
	case 4:
		return "CASE WHEN " + g.cond(depth, aliases) + " THEN " + g.col(aliases) + " END"
	default:
		return g.col(aliases)
	}
}

func (g *gen) cond(depth int, aliases []string) string {
	switch g.r.IntN(5) {
	case 0:
		if depth < 2 {
			return "EXISTS (" + g.query(depth+1) + ")"
		}
		fallthrough
	case 1:
		if depth < 2 {
			return g.col(aliases) + " IN (" + g.query(depth+1) + ")"
		}
		fallthrough
	default:
		return g.col(aliases) + " = " + g.col(aliases)
	}
}
