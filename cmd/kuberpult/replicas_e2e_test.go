package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kuberpult/bot/slackfake"
	"kuberpult/config"
)

// TestReplicasOnPostgres runs three, then two, then three serve replicas (the real binary)
// on one PostgreSQL database and one env repo. CI's releases are spread over them and
// consoles act beside them while the leader is killed (kill -9) twice and paused once
// (SIGSTOP until another replica took over, then SIGCONT: a deposed leader that wakes
// up). Every accepted release is in git exactly once with the commit the database
// records, nothing is committed twice, a new leader takes over within 15 s each time, and
// at the end git equals the database.
func TestReplicasOnPostgres(t *testing.T) {
	dsn := postgresSchema(t)
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	cfg0, bare := writeConfig(t, addrs[0])
	usePostgres(t, cfg0, dsn)
	data, err := os.ReadFile(cfg0)
	if err != nil {
		t.Fatal(err)
	}
	cfgs := []string{cfg0}
	for i, addr := range addrs[1:] {
		path := fmt.Sprintf("%s.%d.yaml", cfg0, i+1)
		if err := os.WriteFile(path, []byte(strings.Replace(string(data), addrs[0], addr, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		cfgs = append(cfgs, path)
	}
	cfg, err := config.Load(cfg0)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openStore(context.Background(), cfg.State)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := &replicas{t: t, cfgs: cfgs, addrs: addrs, procs: make([]*proc, len(addrs))}
	for i := range addrs {
		r.start(i)
	}
	all := []string{"development", "staging", "production-de", "production-jp"}
	for i := 0; i < 3; i++ {
		r.release(fmt.Sprintf("shop-%d", i), 1, i, all...)
	}

	// CI: four clients, each releasing its app's versions in order, round-robin over the
	// replicas; a request that finds its replica dead goes to the next one with the same
	// Idempotency-Key.
	const apps, versions = 4, 40
	var wg sync.WaitGroup
	for a := 0; a < apps; a++ {
		wg.Add(1)
		go func(a int) {
			defer wg.Done()
			for v := 1; v <= versions; v++ {
				r.release(fmt.Sprintf("app-%d", a), v, a+v, "development", "staging")
			}
		}(a)
	}
	var consoles []*proc
	takeovers := []time.Duration{}
	for round := 0; round < 3; round++ {
		time.Sleep(500 * time.Millisecond) // releases stream meanwhile
		old := r.leader()
		script := fmt.Sprintf("deploy shop-%d 1 to staging\nlock production \"c%d\" --id c%d\nunlock production --id c%d\n", round, round, round, round)
		consoles = append(consoles, start(t, script, "console", "--config", cfgs[(old+1)%len(cfgs)]))
		lease, ok, err := db.Lease(context.Background(), leaseName)
		if err != nil || !ok {
			t.Fatalf("the writer lease: %v %v", ok, err)
		}
		killed := time.Now()
		switch round {
		case 0, 2:
			r.procs[old].cmd.Process.Kill()
			r.procs[old].wait(t)
			r.procs[old] = nil
		case 1:
			r.procs[old].cmd.Process.Signal(syscall.SIGSTOP)
		}
		// The take-over as the database has it: a new epoch, held by a serve replica.
		waitFor(t, "another replica to take the lease", func() bool {
			l, _, err := db.Lease(context.Background(), leaseName)
			return err == nil && l.Epoch > lease.Epoch && l.Holder != lease.Holder && strings.HasPrefix(l.Holder, "kuberpult serve ")
		})
		took := time.Since(killed)
		takeovers = append(takeovers, took)
		next := r.waitLeader(old)
		t.Logf("round %d: replica %d led; replica %d took over after %v", round, old, next, took.Round(100*time.Millisecond))
		switch round {
		case 0:
			// Two replicas from here until the third round starts it again.
		case 1:
			time.Sleep(time.Second) // the new leader pushes while the old one sleeps
			r.procs[old].cmd.Process.Signal(syscall.SIGCONT)
			waitFor(t, "the woken replica to know it does not lead", func() bool {
				m := r.metrics(old)
				return m != "" && strings.Contains(m, "\nkuberpult_leader_lost_total 1\n") && leads(m) == 0
			})
			if r.leader() == old {
				t.Errorf("the woken replica leads again")
			}
			dead := 0
			for i, p := range r.procs {
				if p == nil {
					dead = i
				}
			}
			r.start(dead)
		case 2:
			r.start(old)
		}
	}
	wg.Wait()
	for _, c := range consoles {
		if err := c.wait(t); err != nil {
			t.Errorf("console: %v\n%s", err, c.logs)
		}
	}
	for _, d := range takeovers {
		if d > 15*time.Second {
			t.Errorf("a take-over took %v, more than 15 s", d)
		}
	}
	waitFor(t, "the outbox to drain", func() bool {
		return strings.Contains(r.metrics(r.leader()), "\nkuberpult_outbox_pending 0\n")
	})
	for i, p := range r.procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.wait(t); err != nil {
			t.Errorf("replica %d: %v\n%s", i, err, p.logs)
		}
	}

	subjects := strings.Split(git(t, bare, "log", "--format=%s", "main"), "\n")
	count := map[string]int{}
	for _, s := range subjects {
		count[s]++
		if count[s] == 2 {
			t.Errorf("commit %q is on the remote twice", s)
		}
	}
	r.mu.Lock()
	accepted := r.accepted
	r.mu.Unlock()
	if accepted != apps*versions+3 {
		t.Errorf("%d releases accepted, want %d", accepted, apps*versions+3)
	}
	for a := 0; a < apps; a++ {
		for v := 1; v <= versions; v++ {
			if s := fmt.Sprintf("deploy app-%d %d to development", a, v); count[s] != 1 {
				t.Errorf("%q is on the remote %d times, want once", s, count[s])
			}
		}
	}
	for i := 0; i < 3; i++ {
		if s := fmt.Sprintf("deploy shop-%d 1 to staging", i); count[s] != 1 {
			t.Errorf("the console's %q is on the remote %d times, want once", s, count[s])
		}
	}
	checkGitEqualsState(t, cfg0, bare)
	if t.Failed() {
		t.Logf("the remote's log:\n%s", git(t, bare, "log", "--format=%h %p %s", "main"))
		for i, p := range r.procs {
			t.Logf("replica %d:\n%s", i, p.logs)
		}
	}
}

// replicas are serve processes on one database, each with its own API address.
type replicas struct {
	t     *testing.T
	cfgs  []string
	addrs []string

	mu       sync.Mutex
	procs    []*proc // nil: not running
	accepted int
}

func (r *replicas) start(i int) {
	p := start(r.t, "", "serve", "--config", r.cfgs[i])
	waitReady(r.t, "http://"+r.addrs[i], p)
	r.mu.Lock()
	r.procs[i] = p
	r.mu.Unlock()
}

// release posts a release to replica first, else to the next ones, until one accepts it.
func (r *replicas) release(app string, version, first int, envs ...string) {
	key := fmt.Sprintf("%s-%d", app, version)
	deadline := time.Now().Add(time.Minute)
	for try := first; time.Now().Before(deadline); try++ {
		base := "http://" + r.addrs[try%len(r.addrs)]
		req := kuberpultCLIRelease(r.t, base, app, version, envs...)
		req.Header.Set("Idempotency-Key", key)
		client := http.Client{Timeout: 5 * time.Second} // a paused replica does not answer
		resp, err := client.Do(req)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusCreated:
			r.mu.Lock()
			r.accepted++
			r.mu.Unlock()
			return
		case http.StatusServiceUnavailable, http.StatusInternalServerError:
			time.Sleep(100 * time.Millisecond)
		default:
			r.t.Errorf("release %s %d on %s: %d %s", app, version, base, resp.StatusCode, body)
			return
		}
	}
	r.t.Errorf("release %s %d: no replica accepted it within a minute", app, version)
}

// metrics returns replica i's /metrics ("" when it does not answer).
func (r *replicas) metrics(i int) string {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + r.addrs[i] + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var leaderLine = regexp.MustCompile(`\nkuberpult_leader\{replica="[^"]*"\} ([01])\n`)

// leads reads kuberpult_leader from metrics: 1 or 0, -1 when it is not there.
func leads(metrics string) int {
	m := leaderLine.FindStringSubmatch(metrics)
	if m == nil {
		return -1
	}
	return int(m[1][0] - '0')
}

// leader waits until exactly one replica says it leads and returns it.
func (r *replicas) leader() int {
	r.t.Helper()
	return r.waitLeader(-1)
}

// waitLeader waits until exactly one replica other than not says it leads.
func (r *replicas) waitLeader(not int) int {
	r.t.Helper()
	found := -1
	waitFor(r.t, "one leader", func() bool {
		found = -1
		n := 0
		for i := range r.addrs {
			if i == not {
				continue
			}
			if leads(r.metrics(i)) == 1 {
				found, n = i, n+1
			}
		}
		return n == 1
	})
	return found
}

// TestSlackEnvelopeOnTwoReplicas: two serve replicas on one PostgreSQL database, each with
// its own Socket Mode connection. alice's slash command reaches one; Slack then redelivers
// it to both at once (a late ack): one deploy, one commit, one card in the channel; the
// redeliveries are acked and answered to alice alone.
func TestSlackEnvelopeOnTwoReplicas(t *testing.T) {
	dsn := postgresSchema(t)
	fake := slackfake.New(t)
	fake.AddUser(slackfake.User{ID: "UALICE", Name: "alice", RealName: "Alice Doe", DisplayName: "alice", Email: "alice@example.com"})
	addrs := []string{freeAddr(t), freeAddr(t)}
	cfg0, bare := writeSlackConfig(t, addrs[0], fake)
	usePostgres(t, cfg0, dsn)
	data, err := os.ReadFile(cfg0)
	if err != nil {
		t.Fatal(err)
	}
	cfg1 := cfg0 + ".1.yaml"
	if err := os.WriteFile(cfg1, []byte(strings.Replace(string(data), addrs[0], addrs[1], 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	var procs []*proc
	for i, cfg := range []string{cfg0, cfg1} {
		p := start(t, "", "serve", "--config", cfg)
		exited := false
		dumpOnFailure(t, p, fake, &exited)
		waitReady(t, "http://"+addrs[i], p)
		fake.WaitConnected(t, i+1)
		procs = append(procs, p)
	}
	if st := post(t, releaseBy(t, "http://"+addrs[0], "Alice Doe <alice@example.com>", "checkout", 1, "development", "staging")); st != http.StatusCreated {
		t.Fatalf("release: status %d, want 201", st)
	}
	slackCard(t, fake, "Released by")

	id := fake.SlashCommand(slackfake.SlashCommand{Command: "/kuberpult", Text: "deploy checkout 1 to staging", UserID: "UALICE", ChannelID: slackChannel})
	fake.WaitAck(t, id)
	if n := fake.RedeliverEverywhere(id); n != 2 {
		t.Fatalf("redelivered on %d connections, want 2", n)
	}
	waitFor(t, "both replicas to ack the redelivery", func() bool { return len(fake.Acks(id)) == 3 })
	card := slackCard(t, fake, "*alice*", "Deployed checkout 1 (v1.1) to staging")
	slackMessage(t, fake, card.TS, "pushed to the env repo as `")
	// Both replicas answered: wait until Slack hears nothing new for a second.
	calls, still := len(fake.Calls("")), time.Now()
	waitFor(t, "the replicas to finish with the envelope", func() bool {
		if n := len(fake.Calls("")); n != calls {
			calls, still = n, time.Now()
		}
		return time.Since(still) > time.Second
	})
	cards := 0
	for _, m := range fake.Messages(slackChannel) {
		if strings.Contains(m.Text+string(m.Blocks), "Deployed checkout 1 (v1.1) to staging") {
			cards++
		}
	}
	if cards != 1 {
		t.Errorf("%d cards in the channel for the deploy, want 1", cards)
	}
	if got := git(t, bare, "log", "--format=%s", "main"); strings.Count(got, "deploy checkout 1 to staging") != 1 {
		t.Errorf("the deploy is not on the remote exactly once:\n%s", got)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"console", "--config", cfg0}, stdinFile(t, "audit --env staging"), &out, io.Discard); err != nil {
		t.Fatalf("console: %v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), "deploy checkout 1 to staging"); n != 1 {
		t.Errorf("the audit log has the deploy %d times, want once:\n%s", n, out.String())
	}
	for i, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.wait(t); err != nil {
			t.Errorf("replica %d: %v\n%s", i, err, p.logs)
		}
	}
}
