"""Use cases: one function per command. Each takes the actor and the time explicitly,
locks what it changes, checks the transition, writes events and flushes; the caller's
``unit_of_work`` commits once."""
