"""What on-call staff receive: alert rules, the built-in engine, delivery, maintenance."""
