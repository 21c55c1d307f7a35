package gate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// TestPowerTable prints the power tables of docs/GATE.md. It is skipped
// unless HILCHAOS_POWER=1:
//
//	HILCHAOS_POWER=1 go test ./harness/gate -run PowerTable -v
func TestPowerTable(t *testing.T) {
	if os.Getenv("HILCHAOS_POWER") == "" {
		t.Skip("set HILCHAOS_POWER=1 to print the power tables")
	}
	const m = 13 // 6 tasks x 2 latency figures + resets
	levels := []struct {
		name  string
		alpha float64
	}{{"alone (alpha .05)", 0.05}, {"first of 13 (alpha .05/13)", 0.05 / m}}
	ns := []int{5, 6, 8, 10, 15, 20, 30}

	// Resets: the baseline never resets; each candidate run resets with
	// probability q. Exact: sum over k of Bin(n, q)(k) [Fisher p <= level].
	fmt.Println("\nFisher, baseline 0 resets in n runs, candidate resets with probability q per run")
	for _, lv := range levels {
		fmt.Printf("\n%s\n| runs per side |", lv.name)
		qs := []float64{0.1, 0.2, 0.3, 0.5, 0.7, 1.0}
		for _, q := range qs {
			fmt.Printf(" q=%.1f |", q)
		}
		fmt.Println()
		for _, n := range ns {
			fmt.Printf("| %d |", n)
			for _, q := range qs {
				pow := 0.0
				for k := 0; k <= n; k++ {
					if FisherGreater(0, n, k, n) <= lv.alpha {
						pow += math.Exp(lchoose(n, k)) * math.Pow(q, float64(k)) * math.Pow(1-q, float64(n-k))
					}
				}
				fmt.Printf(" %.2f |", pow)
			}
			fmt.Println()
		}
	}

	// Latency: normal per-run figures, the candidate's mean shifted by d
	// standard deviations. Monte Carlo, 4000 trials, fixed seed.
	fmt.Println("\nMann-Whitney U, candidate shifted by d standard deviations (normal), 4000 trials")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, lv := range levels {
		fmt.Printf("\n%s\n| runs per side |", lv.name)
		ds := []float64{0.5, 1, 1.5, 2, 3}
		for _, d := range ds {
			fmt.Printf(" d=%.1f |", d)
		}
		fmt.Println()
		for _, n := range ns {
			fmt.Printf("| %d |", n)
			for _, d := range ds {
				hit := 0
				for trial := 0; trial < 4000; trial++ {
					x, y := make([]float64, n), make([]float64, n)
					for i := range x {
						x[i], y[i] = rng.NormFloat64(), rng.NormFloat64()+d
					}
					if MannWhitney(x, y).PGreater <= lv.alpha {
						hit++
					}
				}
				fmt.Printf(" %.2f |", float64(hit)/4000)
			}
			fmt.Println()
		}
	}
}
