#include <cstdio>
#include <string>
struct Node { Node *next; char pad[120]; };
__attribute__((noinline)) Node *forget_list(int n) {
    Node *h = nullptr;
    for (int i = 0; i < n; i++) { Node *x = new Node; x->next = h; h = x; }
    return h;
}
__attribute__((noinline)) char *keep_buffer() { return new char[1000]; }
int main() {
    Node *volatile h = forget_list(10);
    char *volatile b = keep_buffer();
    h = nullptr; b = nullptr;
    std::string s(100, 'x');
    printf("%zu\n", s.size());
    return 0;
}
