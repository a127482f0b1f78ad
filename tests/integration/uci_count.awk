# Classify UCI rows by the importer's documented rules (uci.py module docstring), independently of it.
BEGIN { FPAT = "([^,]*)|(\"[^\"]*\")" }
NR == 1 { next }
{
  read++
  if (NF != 8) { r["malformed row: " NF " fields instead of 8"]++; next }
  if ($4 !~ /^-?[0-9]+$/ || $5 !~ /^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}$/ || $6 !~ /^-?[0-9.]+$/) { r["unparseable quantity, date or price"]++; next }
  if ($1 ~ /^A/) { r["bad-debt adjustment (A invoice), not an order"]++; next }
  c = $7; sub(/\..*/, "", c); gsub(/ /, "", c)
  if (c == "") { r["no customer"]++; next }
  k = "goods"
  if ($2 ~ /^(POST|DOT|C2)$/) k = "shipping"; else if ($2 ~ /^(M|m)$/) k = "manual"; else if ($2 == "D") k = "discount"
  else if ($2 == "S") k = "sample"; else if ($2 ~ /^(BANK CHARGES|AMAZONFEE|CRUK)$/) k = "fee"; else if ($2 ~ /^gift_/) k = "voucher"
  key = c "|" $2
  if ($1 ~ /^C/) {
    if (k != "goods") { r["credit note for a " k " line, not goods coming back"]++; next }
    if ($4 >= 0) { r["credit-note line with a non-negative quantity"]++; next }
    if (left[key] == 0) { r["no earlier purchase of this item by this customer in the data"]++; next }
    if (-$4 > left[key]) { r["more returned than bought and not yet returned"]++; next }
    left[key] += $4; matched++; imported++; cn[$1 "|" owner[key]] = 1; next
  }
  if ($4 <= 0) { r["sale line with a zero or negative quantity (stock adjustment)"]++; next }
  if ($6 < 0) { r["negative unit price on a sale"]++; next }
  if (($1 in cust) && cust[$1] != c) { r["customer differs from the invoice's other lines"]++; next }
  cust[$1] = c; lines++; imported++
  if (k == "goods") { left[key] += $4; owner[key] = $1 }
}
END {
  for (x in cust) { orders++; customers[cust[x]] = 1 }
  for (x in customers) ncust++
  printf "read=%d imported=%d orders=%d lines=%d customers=%d matched=%d\n", read, imported, orders, lines, ncust, matched
  for (x in r) printf "%d\t%s\n", r[x], x
}
