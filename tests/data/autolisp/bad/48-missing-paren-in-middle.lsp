;; expect: unclosed-paren
(defun c:MID (/ p1 p2)
  (setq p1 (getpoint "\nFirst: ")
  (setq p2 (getpoint p1 "\nSecond: "))
  (command "_.LINE" p1 p2 "")
  (princ)
)
