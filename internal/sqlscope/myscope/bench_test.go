package myscope

import "testing"

func BenchmarkAnalyze(b *testing.B) {
	benchmarks := []struct {
		name string
		sql  string
	}{
		{"point", "SELECT id, country FROM customers WHERE id = 42"},
		{"join-aggregate", "SELECT c.country, COUNT(*) AS n, SUM(o.total) AS revenue FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at >= '2024-01-01' GROUP BY c.country HAVING n > 1 ORDER BY revenue DESC LIMIT 10"},
		{"cte", "WITH m AS (SELECT DATE_FORMAT(created_at, '%Y-%m') AS ym, SUM(total) AS s FROM orders GROUP BY ym) SELECT ym, s, s - LAG(s) OVER (ORDER BY ym) AS delta FROM m ORDER BY ym"},
	}
	a := New()
	schema := fixtureSchema()
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Analyze(bm.sql, schema); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
