def safe_divide(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        return float("inf")
    finally:
        pass


def main():
    values = [10, 5, 0]
    results = [safe_divide(100, v) for v in values]
    print(results)
    scratch = {"tmp": 1}
    del scratch["tmp"]
    x = 42
    del x
    print(scratch, "x" in dir())


if __name__ == "__main__":
    main()
