# The seed talk's log mining example, with only the import changed (and a
# local path for "hdfs://...").  Input: log.txt from examples/gen_data.py.
from fastrdd import SparkContext

spark = SparkContext("local[*]", "LogMining")

lines = spark.textFile("log.txt")
errors = lines.filter(lambda s: s.startswith("ERROR"))
messages = errors.map(lambda s: s.split("\t")[2])
messages.cache()

print(messages.filter(lambda s: "foo" in s).count())
print(messages.filter(lambda s: "bar" in s).count())
