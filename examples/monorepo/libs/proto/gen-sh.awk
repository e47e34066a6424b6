# Turns each proto3 message into a shell variable listing its fields in order:
#   message Job { string id = 1; string payload = 2; }  ->  JOB_FIELDS="id payload"
/^message / { name = toupper($2); fields = ""; next }
name && /^}/ { printf "%s_FIELDS=\"%s\"\n", name, substr(fields, 2); name = ""; next }
name && /=/ { fields = fields " " $2 }
