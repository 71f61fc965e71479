from abc import ABC, abstractmethod


class Shape(ABC):
    def __init__(self, name):
        self.name = name

    @abstractmethod
    def area(self): ...

    def __str__(self):
        return f"{self.name}: {self.area():.2f}"


class Rectangle(Shape):
    def __init__(self, w, h):
        super().__init__("rectangle")
        self.w, self.h = w, h

    def area(self):
        return self.w * self.h


class Square(Rectangle):
    def __init__(self, side):
        super().__init__(side, side)
        self.name = "square"


for shape in (Rectangle(2, 3.5), Square(4)):
    print(shape, isinstance(shape, Shape), type(shape).__name__)
