# The seed talk's standalone job, with only the import changed.
# Input: in.txt (python examples/gen_data.py makes one); output: out.txt/
from fastrdd import SparkContext

if __name__ == "__main__":
    sc = SparkContext("local", "WordCount")
    lines = sc.textFile("in.txt")

    counts = lines.flatMap(lambda s: s.split()) \
                  .map(lambda word: (word, 1)) \
                  .reduceByKey(lambda x, y: x + y)

    counts.saveAsTextFile("out.txt")
