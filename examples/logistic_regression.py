# The seed talk's logistic regression, with only the import changed (and
# Python 3's print).  Input: points.txt from examples/gen_data.py, one
# point per line: the label y (-1 or 1) then D coordinates.
from collections import namedtuple
from numpy import exp

import numpy

from fastrdd import SparkContext

D = 10
iterations = 10
Point = namedtuple("Point", ["x", "y"])


def readPoint(line):
    values = [float(v) for v in line.split()]
    return Point(x=numpy.array(values[1:]), y=values[0])


spark = SparkContext("local[*]", "LogisticRegression")

data = spark.textFile("points.txt").map(readPoint).cache()

w = numpy.random.rand(D)

for i in range(iterations):
    gradient = data.map(lambda p:
        (1 / (1 + exp(-p.y * w.dot(p.x)))) * p.y * p.x
    ).reduce(lambda x, y: x + y)
    w -= gradient

print("Final w: %s" % w)
