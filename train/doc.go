// Package train plans release trains exactly as Kuberpult does: for a target environment or
// group (and an optional team), which app goes to which version on each environment, and
// why the others are skipped. Plan is a pure function of the state; running a train is the
// commands Handler's business (one transaction, one env-repo commit).
package train
