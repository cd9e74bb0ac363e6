"""HTTP routes; each turns a request into one service call and the result back into JSON."""
