"""HTTP only: routes, endpoints, authentication and the wire shapes of the contract."""
