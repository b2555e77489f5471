package deploy

// ActorKind says through what an actor acts.
type ActorKind string

const (
	ActorUser   ActorKind = "user"   // a person (Slack user or the console's user)
	ActorAPI    ActorKind = "api"    // an API client (token name + author headers)
	ActorSystem ActorKind = "system" // the program itself: auto-deploys, scheduled trains
)

// Actor is who acts. Every change records its actor.
type Actor struct {
	Kind  ActorKind `json:"kind"`
	ID    string    `json:"id,omitempty"` // Slack user id, token name, or a system component name
	Name  string    `json:"name"`
	Email string    `json:"email"`
}

// Display is the actor as shown to people: the name, else the email, else the id.
func (a Actor) Display() string {
	switch {
	case a.Name != "":
		return a.Name
	case a.Email != "":
		return a.Email
	case a.ID != "":
		return a.ID
	}
	return string(a.Kind)
}

// System is the actor of automatic actions.
var System = Actor{Kind: ActorSystem, ID: "kuberpult", Name: "kuberpult", Email: "kuberpult@localhost"}
