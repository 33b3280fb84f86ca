UNWIND $ids AS id
MATCH (:{{label}} {id: id})<-[r:{{type}}]-()
DELETE r
