// How many results of one analyte there are on lots and batches. Parameters: $analyte.
MATCH (r:TestResult {analyte: $analyte})-[:TESTED]->(target)
WHERE target:Lot OR target:Batch
RETURN count(r) AS total
