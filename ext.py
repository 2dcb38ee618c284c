import zlib
def comp():
    return zlib.compressobj(9)
def main():
    keep = [comp() for _ in range(50)]
    print(len(keep))
main()
