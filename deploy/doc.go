// Package deploy is Kuberpult's vocabulary: environments, groups, apps, teams,
// releases, deployments, locks, actors and the changes the rest of the program
// stores and writes to the environment repo. It uses the standard library only,
// so every other package can depend on it.
package deploy
