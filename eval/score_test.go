package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// part builds a partition from clusters written as "a b c|d e": items
// separated by spaces, clusters by bars, each labelled by its first item.
func part(s string) Partition {
	p := make(Partition)
	for _, c := range strings.Split(s, "|") {
		items := strings.Fields(c)
		for _, it := range items {
			p[it] = items[0]
		}
	}
	return p
}

const eps = 1e-12

func near(a, b float64) bool { return math.Abs(a-b) < eps }

func TestScore(t *testing.T) {
	tests := []struct {
		name        string
		truth, pred string
		want        Scores
	}{
		{
			// The same grouping under other labels.
			name: "PerfectMatchScoresOne", truth: "a b c|d e|f", pred: "c b a|e d|f",
			want: Scores{Items: 6, TrueClusters: 3, PredClusters: 3,
				PairPrecision: 1, PairRecall: 1, PairF1: 1, ARI: 1,
				BCubedPrecision: 1, BCubedRecall: 1, BCubedF1: 1,
				LargestTrue: 3, LargestPred: 3, Compression: 2},
		},
		{
			// Both all singletons: no pairs on either side. Nothing is wrong
			// and nothing is missed, and the ARI's denominator is 0: 1.
			name: "AllSingletonsBothSidesScoresOne", truth: "a|b|c|d", pred: "a|b|c|d",
			want: Scores{Items: 4, TrueClusters: 4, PredClusters: 4,
				PairPrecision: 1, PairRecall: 1, PairF1: 1, ARI: 1,
				BCubedPrecision: 1, BCubedRecall: 1, BCubedF1: 1,
				LargestTrue: 1, LargestPred: 1, Compression: 1},
		},
		{
			// Both one cluster: the other case of a zero ARI denominator.
			name: "OneClusterBothSidesScoresOne", truth: "a b c d", pred: "d c b a",
			want: Scores{Items: 4, TrueClusters: 1, PredClusters: 1,
				PairPrecision: 1, PairRecall: 1, PairF1: 1, ARI: 1,
				BCubedPrecision: 1, BCubedRecall: 1, BCubedF1: 1,
				LargestTrue: 4, LargestPred: 4, Compression: 4},
		},
		{
			// Truth: one incident of 4; prediction: 4 singletons.
			// Pairs: true 6, predicted 0, both 0 → P = 1 (nothing claimed),
			// R = 0/6 = 0, F1 = 0.
			// ARI: expected = 6·0/6 = 0, max = (6+0)/2 = 3 → (0−0)/(3−0) = 0.
			// B-cubed: each item's precision 1/1, recall 1/4 → P = 1,
			// R = 0.25, F1 = 2·0.25/1.25 = 0.4.
			name: "SingletonsAgainstOneCluster", truth: "a b c d", pred: "a|b|c|d",
			want: Scores{Items: 4, TrueClusters: 1, PredClusters: 4,
				PairPrecision: 1, PairRecall: 0, PairF1: 0, ARI: 0,
				BCubedPrecision: 1, BCubedRecall: 0.25, BCubedF1: 0.4,
				LargestTrue: 4, LargestPred: 1, Compression: 1},
		},
		{
			// The mirror: everything in one predicted incident.
			// Pairs: predicted 6, true 0 → P = 0/6 = 0, R = 1, F1 = 0; ARI 0.
			// B-cubed: precision 1/4 each, recall 1/1 → 0.25, 1, 0.4.
			name: "OneClusterAgainstSingletons", truth: "a|b|c|d", pred: "a b c d",
			want: Scores{Items: 4, TrueClusters: 4, PredClusters: 1,
				PairPrecision: 0, PairRecall: 1, PairF1: 0, ARI: 0,
				BCubedPrecision: 0.25, BCubedRecall: 1, BCubedF1: 0.4,
				LargestTrue: 1, LargestPred: 4, Compression: 4},
		},
		{
			// Truth T1 = {a b c d}, T2 = {e}; prediction P1 = {a b c},
			// P2 = {d e}. Contingency cells: T1∩P1 = 3, T1∩P2 = 1, T2∩P2 = 1.
			// Pairs: both = C(3,2) = 3; true = C(4,2) = 6; predicted =
			// C(3,2)+C(2,2) = 4; all = C(5,2) = 10.
			//   P = 3/4 = 0.75, R = 3/6 = 0.5, F1 = 2·0.375/1.25 = 0.6.
			//   ARI: expected = 6·4/10 = 2.4, max = (6+4)/2 = 5,
			//        (3−2.4)/(5−2.4) = 0.6/2.6 = 3/13.
			// B-cubed precision: a b c 3/3 each, d 1/2, e 1/2 → 4/5 = 0.8.
			// B-cubed recall: a b c 3/4 each, d 1/4, e 1/1 → 3.5/5 = 0.7.
			//   F1 = 2·0.8·0.7/1.5 = 1.12/1.5.
			name: "HandComputedExample", truth: "a b c d|e", pred: "a b c|d e",
			want: Scores{Items: 5, TrueClusters: 2, PredClusters: 2,
				PairPrecision: 0.75, PairRecall: 0.5, PairF1: 0.6, ARI: 3.0 / 13,
				BCubedPrecision: 0.8, BCubedRecall: 0.7, BCubedF1: 1.12 / 1.5,
				LargestTrue: 4, LargestPred: 3, Compression: 2.5},
		},
		{
			// Truth {a b c}{d e f}; prediction {a b}{c d}{e f}: a worse than
			// chance split. Cells 2,1,1,2 → both = 2; true = 3+3 = 6;
			// predicted = 1+1+1 = 3; all = 15. expected = 6·3/15 = 1.2,
			// max = 4.5 → ARI = 0.8/3.3 = 8/33.
			// P = 2/3, R = 2/6 = 1/3, F1 = 2·(2/9)/1 = 4/9.
			// B-cubed precision: a b 2/2, c 1/2, d 1/2, e f 2/2 → 5/6;
			// recall: a b 2/3, c 1/3, d 1/3, e f 2/3 → (4/3+2/3+4/3)/6 = 5/9;
			// F1 = 2·(25/54)/(25/18) = 2/3.
			name: "HandComputedChainSplit", truth: "a b c|d e f", pred: "a b|c d|e f",
			want: Scores{Items: 6, TrueClusters: 2, PredClusters: 3,
				PairPrecision: 2.0 / 3, PairRecall: 1.0 / 3, PairF1: 4.0 / 9, ARI: 8.0 / 33,
				BCubedPrecision: 5.0 / 6, BCubedRecall: 5.0 / 9, BCubedF1: 2.0 / 3,
				LargestTrue: 3, LargestPred: 2, Compression: 2},
		},
		{
			// One item: no pairs at all; nothing to disagree on.
			name: "OneItemScoresOne", truth: "a", pred: "a",
			want: Scores{Items: 1, TrueClusters: 1, PredClusters: 1,
				PairPrecision: 1, PairRecall: 1, PairF1: 1, ARI: 1,
				BCubedPrecision: 1, BCubedRecall: 1, BCubedF1: 1,
				LargestTrue: 1, LargestPred: 1, Compression: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Score(part(tt.truth), part(tt.pred))
			if !scoresNear(got, tt.want) {
				t.Errorf("Score(%q, %q)\ngot  %+v\nwant %+v", tt.truth, tt.pred, got, tt.want)
			}
		})
	}
}

func scoresNear(a, b Scores) bool {
	return a.Items == b.Items && a.TrueClusters == b.TrueClusters && a.PredClusters == b.PredClusters &&
		near(a.PairPrecision, b.PairPrecision) && near(a.PairRecall, b.PairRecall) && near(a.PairF1, b.PairF1) &&
		near(a.ARI, b.ARI) &&
		near(a.BCubedPrecision, b.BCubedPrecision) && near(a.BCubedRecall, b.BCubedRecall) && near(a.BCubedF1, b.BCubedF1) &&
		a.LargestTrue == b.LargestTrue && a.LargestPred == b.LargestPred && near(a.Compression, b.Compression) &&
		a.Missing == b.Missing && a.Extra == b.Extra
}

func TestScoreMissingAndExtraAreLeftOut(t *testing.T) {
	// Truth has x and y that the prediction lacks; the prediction has z that
	// the truth lacks. The rest is the hand-computed example above.
	truth := part("a b c d x|e|y")
	pred := part("a b c z|d e")
	got := Score(truth, pred)
	want := Scores{Items: 5, TrueClusters: 2, PredClusters: 2,
		PairPrecision: 0.75, PairRecall: 0.5, PairF1: 0.6, ARI: 3.0 / 13,
		BCubedPrecision: 0.8, BCubedRecall: 0.7, BCubedF1: 1.12 / 1.5,
		LargestTrue: 4, LargestPred: 3, Compression: 2.5,
		Missing: 2, Extra: 1}
	if !scoresNear(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestScoreNoSharedItemsIsZero(t *testing.T) {
	got := Score(part("a b|c"), part("x y"))
	want := Scores{Missing: 3, Extra: 2}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := Score(nil, nil); got != (Scores{}) {
		t.Errorf("Score(nil, nil) = %+v, want zero", got)
	}
}

func TestScoreIsSymmetricUnderSwap(t *testing.T) {
	// Swapping truth and prediction swaps precision and recall and keeps the
	// ARI and the F1s.
	r := rand.New(rand.NewPCG(1, 2))
	a, b := randomPartitions(r, 2000)
	s, u := Score(a, b), Score(b, a)
	if !near(s.PairPrecision, u.PairRecall) || !near(s.BCubedPrecision, u.BCubedRecall) ||
		!near(s.ARI, u.ARI) || !near(s.PairF1, u.PairF1) || !near(s.BCubedF1, u.BCubedF1) {
		t.Errorf("Score(a, b) = %+v\nScore(b, a) = %+v", s, u)
	}
}

func TestScoreMatchesPairEnumeration(t *testing.T) {
	// The contingency-table sums must agree with counting pairs one by one.
	r := rand.New(rand.NewPCG(3, 4))
	truth, pred := randomPartitions(r, 300)
	ids := make([]string, 0, len(truth))
	for id := range truth {
		ids = append(ids, id)
	}
	var both, tp, pp, all float64
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			st := truth[ids[i]] == truth[ids[j]]
			sp := pred[ids[i]] == pred[ids[j]]
			all++
			if st {
				tp++
			}
			if sp {
				pp++
			}
			if st && sp {
				both++
			}
		}
	}
	var bp, br float64
	for _, x := range ids {
		var inP, inT, inBoth float64
		for _, y := range ids {
			sp, st := pred[x] == pred[y], truth[x] == truth[y]
			if sp {
				inP++
			}
			if st {
				inT++
			}
			if sp && st {
				inBoth++
			}
		}
		bp += inBoth / inP
		br += inBoth / inT
	}
	expected := tp * pp / all
	wantARI := (both - expected) / ((tp+pp)/2 - expected)
	got := Score(truth, pred)
	if !near(got.PairPrecision, both/pp) || !near(got.PairRecall, both/tp) || !near(got.ARI, wantARI) ||
		!near(got.BCubedPrecision, bp/float64(len(ids))) || !near(got.BCubedRecall, br/float64(len(ids))) {
		t.Errorf("got %+v\nwant P %v R %v ARI %v B³P %v B³R %v", got, both/pp, both/tp, wantARI,
			bp/float64(len(ids)), br/float64(len(ids)))
	}
}

// randomPartitions returns a truth of n items in clusters of 1–20 and a
// prediction that keeps most of each cluster but moves a fifth of the items
// to random clusters.
func randomPartitions(r *rand.Rand, n int) (truth, pred Partition) {
	truth, pred = make(Partition, n), make(Partition, n)
	cluster := 0
	for i := 0; i < n; {
		size := 1 + r.IntN(20)
		for j := 0; j < size && i < n; j++ {
			id := "al" + strconv.Itoa(i)
			truth[id] = "inc" + strconv.Itoa(cluster)
			if r.IntN(5) == 0 {
				pred[id] = "p" + strconv.Itoa(r.IntN(n/4+1))
			} else {
				pred[id] = "p" + strconv.Itoa(cluster)
			}
			i++
		}
		cluster++
	}
	return truth, pred
}

func BenchmarkScore(b *testing.B) {
	for _, n := range []int{1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			truth, pred := randomPartitions(rand.New(rand.NewPCG(5, 6)), n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				Score(truth, pred)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
