# Stage file; rules are added by the stage's issue.
